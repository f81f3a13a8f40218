"""Atomic file writes: write to a temporary name in the same directory, fsync, then rename.

A reader (a pipeline run, Grafana, another collector) therefore sees either the old file or the complete
new one, never half a file, and a crash leaves at worst a hidden ``.tmp-*`` file that nothing reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl

TMP_MARKER = ".tmp-"


def is_temporary(path: Path) -> bool:
    """True for files that are still being written by some writer and must be ignored by readers."""
    name = path.name
    return name.startswith(".") or TMP_MARKER in name or name.endswith((".part", ".partial", ".tmp"))


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success fsync it and rename it over ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}{TMP_MARKER}{uuid.uuid4().hex[:12]}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(final: Path, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def write_text(final: Path, text: str) -> None:
    write_bytes(final, text.encode("utf-8"))


def write_parquet(final: Path, frame: pl.DataFrame) -> None:
    """Parquet with zstd and statistics, so that time filters can prune row groups."""
    with atomic_path(final) as tmp:
        frame.write_parquet(tmp, compression="zstd", statistics=True)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
