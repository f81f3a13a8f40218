"""Opening a PM file: gzip by magic bytes (never by name), a cap on decompressed size, progress by bytes.

OSS exports are often ``.xml.gz``; a small gzip file can expand to many gigabytes (a "zip bomb"), so every
byte handed to a parser passes through :class:`CappedReader`, which refuses to go past ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from collectors.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
#: Default cap on the (decompressed) bytes of one PM file. OSS-aggregated files reach a few GB.
DEFAULT_MAX_BYTES = 8 * 1024**3

Progress = Callable[[int], None]


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class CappedReader(io.RawIOBase):
    """A read-only stream that raises :class:`InputError` once more than ``max_bytes`` have been read."""

    def __init__(self, inner: Readable, *, origin: str, max_bytes: int, progress: Progress | None = None) -> None:
        super().__init__()
        self._inner = inner
        self._origin = origin
        self._max = max_bytes
        self._progress = progress
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while block := self.read(1 << 20):
                parts.append(block)
            return b"".join(parts)
        try:
            data = self._inner.read(size)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(f"compressed stream is damaged or truncated: {exc}", file=self._origin) from exc
        self.consumed += len(data)
        if self.consumed > self._max:
            raise InputError(
                f"file expands to more than {self._max:,} bytes; refused (raise max_bytes if this is a real file)",
                file=self._origin,
            )
        if self._progress is not None and data:
            self._progress(len(data))
        return data


@contextlib.contextmanager
def open_payload(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, progress: Progress | None = None
) -> Iterator[CappedReader]:
    """The file's bytes, decompressed if it is gzip, capped at ``max_bytes``; ``progress`` gets raw byte counts."""
    origin = str(path)
    with contextlib.ExitStack() as stack:
        try:
            raw = stack.enter_context(open(path, "rb"))
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror or exc}", file=origin) from exc
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            yield CappedReader(raw, origin=origin, max_bytes=max_bytes, progress=progress)
            return
        # Progress counts compressed bytes read from disk, which is what the file size means to a user.
        source = _ProgressFile(raw, progress) if progress else raw
        gz = stack.enter_context(gzip.GzipFile(fileobj=source, mode="rb"))
        yield CappedReader(gz, origin=origin, max_bytes=max_bytes)


def read_head(path: Path, size: int = 4096, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The first ``size`` decompressed bytes (for format detection)."""
    with open_payload(path, max_bytes=max_bytes) as stream:
        return stream.read(size)


def read_all(path: Path, *, max_bytes: int, progress: Progress | None = None) -> bytes:
    """The whole (decompressed) payload, for formats that are parsed as one document (JSON)."""
    with open_payload(path, max_bytes=max_bytes, progress=progress) as stream:
        chunks = []
        while block := stream.read(1 << 20):
            chunks.append(block)
        return b"".join(chunks)


class _ProgressFile(io.RawIOBase):
    def __init__(self, inner: Readable, progress: Progress | None) -> None:
        super().__init__()
        self._inner = inner
        self._progress = progress

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
