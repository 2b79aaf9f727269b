"""Where log bytes come from: a file, a gzip file (detected by its magic bytes, whatever the name) or stdin."""

from __future__ import annotations

import gzip
import io
import os
import queue
import stat
import sys
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Protocol

from earthly_doctor.errors import DoctorError

CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def iter_chunks(stream: BinaryIO | io.BufferedIOBase, size: int = CHUNK, *, reuse: bool = False) -> Iterator[bytes | memoryview]:
    """Chunks of at most `size` bytes. With `reuse`, one buffer is refilled: a chunk is valid only until the
    next one (fine for Scanner.feed, which copies), and the loop allocates nothing."""
    if not reuse:
        while chunk := stream.read(size):
            yield chunk
        return
    buf = bytearray(size)
    view = memoryview(buf)
    readinto = getattr(stream, "readinto", None)
    if readinto is None:  # pragma: no cover - every binary stream we open has it
        yield from iter_chunks(stream, size)
        return
    while n := readinto(view):
        yield view[:n]


class _Reads(Protocol):
    def read(self, size: int, /) -> bytes: ...


class Prefetched(io.RawIOBase):
    """A stream read ahead on a helper thread, a few chunks at most: zlib drops the GIL while it inflates, so a
    gzip log is unpacked on one core while the scanner works on the other (as `gzip -dc | grep` would). An error
    of the underlying stream comes out of the `readinto` that reaches it."""

    DEPTH = 4

    def __init__(self, stream: _Reads, size: int = CHUNK) -> None:
        super().__init__()
        self._chunks: queue.Queue[bytes | BaseException] = queue.Queue(self.DEPTH)
        self._stop = threading.Event()
        self._pending = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._fill, args=(stream, size), name="triage-read", daemon=True)
        self._thread.start()

    def _fill(self, stream: _Reads, size: int) -> None:
        item: bytes | BaseException
        try:
            while not self._stop.is_set():
                item = stream.read(size)
                self._put(item)
                if not item:
                    return
        except Exception as exc:  # noqa: BLE001 -- handed to the reader, who raises it where it reads
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._chunks.put(item, timeout=0.1)
            except queue.Full:
                continue
            else:
                return

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if not self._pending:
            if self._done:
                return 0
            item = self._chunks.get()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            if not item:
                self._done = True
                return 0
            self._pending = memoryview(item)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        super().close()


class _Inflate:
    """The gzip members of a stream (one, or several as `cat a.gz b.gz` makes), inflated by zlib in big steps:
    GzipFile's 8 KB steps would hand the GIL back and forth with the scanner a hundred times per megabyte."""

    def __init__(self, raw: _Reads, block: int = 256 * 1024) -> None:
        self._raw, self._block = raw, block
        self._zip = zlib.decompressobj(wbits=31)

    def read(self, size: int) -> bytes:
        for _ in range(1 << 30):  # bounded: every round consumes input or returns
            z = self._zip
            if z.eof:  # (its unconsumed_tail may still hold the next member's bytes too)
                data = z.unused_data or self._raw.read(self._block)
                if not data:
                    return b""
                self._zip = z = zlib.decompressobj(wbits=31)  # the next member
            elif z.unconsumed_tail:
                data = z.unconsumed_tail
            else:
                data = self._raw.read(self._block)
                if not data:
                    raise EOFError("truncated")
            out = z.decompress(data, size)
            if out:
                return out
        raise EOFError("no progress")  # pragma: no cover


@contextmanager
def _unzipped(raw: _Reads) -> Iterator[io.BufferedIOBase]:
    with Prefetched(_Inflate(raw)) as ahead:
        yield io.BufferedReader(ahead, CHUNK)


@contextmanager
def open_stream(path: str | Path) -> Iterator[io.BufferedIOBase]:
    """A binary stream of the log's bytes, decompressed when gzip; every expected failure, when opening or while
    reading inside the `with`, is one DoctorError line."""
    name = str(path)
    try:
        if name == "-":
            stdin: Any = _stdin()
            # A pipe is buffered already; a test's BytesIO is not.
            buffered: io.BufferedReader = stdin if hasattr(stdin, "peek") else io.BufferedReader(stdin)
            if buffered.peek(2)[:2] == _GZIP_MAGIC:
                with _unzipped(buffered) as unzipped:
                    yield unzipped
            else:
                yield buffered
            return
        with open(name, "rb") as raw:
            kind = stat.S_IFMT(os.fstat(raw.fileno()).st_mode)
            if kind in (stat.S_IFCHR, stat.S_IFBLK):  # /dev/zero never ends; a FIFO (`<(zcat …)`) does
                raise DoctorError(f"{name}: is a device, not a log file (pipe it in with - instead)")
            head = raw.peek(2)[:2]  # peek, not read+seek: a FIFO (`triage <(zcat …)`) cannot seek
            if head == _GZIP_MAGIC:
                with _unzipped(raw) as unzipped:
                    yield unzipped
            else:
                yield raw
    except FileNotFoundError:
        raise DoctorError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DoctorError(f"{name}: is a directory, not a log file") from None
    except PermissionError:
        raise DoctorError(f"{name}: permission denied") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DoctorError(f"{name}: damaged gzip data ({exc or 'truncated'})") from None
    except OSError as exc:
        raise DoctorError(f"{name}: cannot be read: {exc.strerror or exc}") from None


def open_log(path: str | Path, size: int = CHUNK, *, reuse: bool = False) -> Iterator[bytes | memoryview]:
    """The bytes of a log in chunks (for code that wants chunks; `Scanner.feed_stream(stream)` copies less)."""
    with open_stream(path) as stream:
        yield from iter_chunks(stream, size, reuse=reuse)


def _stdin() -> BinaryIO:
    stdin = sys.stdin
    if stdin is None or getattr(stdin, "buffer", None) is None:  # started with stdin closed
        raise DoctorError("-: stdin is closed; give the log as a file or pipe it in")
    return stdin.buffer


def check_readable(path: str) -> None:
    """Fail before any work when a named log is missing, or `-` when there is no stdin (`<&-`)."""
    if path == "-":
        _stdin()
        return
    p = Path(path)
    if not p.exists():
        raise DoctorError(f"{path}: no such file")
    if p.is_dir():
        raise DoctorError(f"{path}: is a directory, not a log file")
