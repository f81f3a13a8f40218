"""Resume state of a backfill: which time chunks of which source are landed already.

One JSON file per (Prometheus URL, site, step, selector) under ``<root>/state/prometheus-backfill/``, written
atomically after each chunk lands, so an interrupted backfill (Ctrl-C, a crash, Prometheus restarting) picks
up at the first chunk it had not finished. The chunk grid (``chunk_s``, aligned to the Unix epoch) is kept
in the file too: later runs over other ranges use the same grid, so the same hour always lands the same
rows under the same file name (the landing zone then treats it as already there).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from collectors import atomic
from collectors.errors import InputError
from collectors.layout import DataRoot

STATE_DIR = "prometheus-backfill"


@dataclass
class BackfillState:
    path: Path
    url: str
    site: str
    step_s: float
    selector: str
    chunk_s: float | None = None
    done: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, root: DataRoot, *, url: str, site: str, step_s: float, selector: str) -> BackfillState:
        key = json.dumps([url, site, step_s, selector])
        name = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = root.state(STATE_DIR) / f"{name}.json"
        state = cls(path, url, site, step_s, selector)
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                state.chunk_s = float(data["chunk_s"]) if data.get("chunk_s") else None
                state.done = {int(c) for c in data.get("done", [])}
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"unreadable backfill state ({exc}); delete it to start over", file=path) from None
        return state

    def mark_done(self, chunk_start: int) -> None:
        self.done.add(chunk_start)
        self.save()

    def save(self) -> None:
        payload = {
            "url": self.url,
            "site": self.site,
            "step_s": self.step_s,
            "selector": self.selector,
            "chunk_s": self.chunk_s,
            "done": sorted(self.done),
        }
        atomic.write_text(self.path, json.dumps(payload, indent=1) + "\n")
