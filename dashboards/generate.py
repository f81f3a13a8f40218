"""Write the generated dashboards (``aigrid dashboards build``) and detect drift from the committed ones.

The output folder holds one sub-folder per Grafana folder uid, each with ``<dashboard uid>.json``; the
provisioning provider YAML maps each sub-folder to its Grafana folder. Files are written atomically and
only when their bytes change, and a dashboard dropped from the catalogue has its file removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from collectors.atomic import write_bytes
from dashboards.catalogue import FOLDERS, dashboards
from dashboards.render import GENERATED_DIR, render_all
from dashboards.variables import Vocabulary

__all__ = ["GENERATED_DIR", "BuildResult", "build", "drift", "generate"]


@dataclass
class BuildResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def generate(vocabulary: Vocabulary | None = None) -> dict[Path, bytes]:
    """Every dashboard file's bytes by path relative to the output folder."""
    v = vocabulary if vocabulary is not None else Vocabulary.from_tables()
    return render_all(dashboards(v), v)


def _stale(out_dir: Path, files: dict[Path, bytes]) -> list[Path]:
    """JSON files in the folder sub-directories that the catalogue no longer produces."""
    stale = []
    for folder in FOLDERS:
        for path in sorted((out_dir / folder.uid).glob("*.json")):
            if path.relative_to(out_dir) not in files:
                stale.append(path)
    return stale


def build(out_dir: Path = GENERATED_DIR, vocabulary: Vocabulary | None = None) -> BuildResult:
    """Write every dashboard under ``out_dir``; idempotent (unchanged files are not rewritten)."""
    files = generate(vocabulary)
    result = BuildResult()
    for rel, data in sorted(files.items()):
        path = out_dir / rel
        if path.exists() and path.read_bytes() == data:
            result.unchanged.append(path)
            continue
        write_bytes(path, data)
        result.written.append(path)
    for path in _stale(out_dir, files):
        path.unlink()
        result.removed.append(path)
    return result


def drift(out_dir: Path = GENERATED_DIR, vocabulary: Vocabulary | None = None) -> list[str]:
    """How the files under ``out_dir`` differ from a fresh generation (empty when identical)."""
    files = generate(vocabulary)
    out = []
    for rel, data in sorted(files.items()):
        path = out_dir / rel
        if not path.exists():
            out.append(f"{rel}: missing")
        elif path.read_bytes() != data:
            out.append(f"{rel}: differs from the catalogue")
    out += [f"{p.relative_to(out_dir)}: no longer in the catalogue" for p in _stale(out_dir, files)]
    return out
