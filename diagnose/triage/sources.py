"""Where log bytes come from: a file, a gzip file (detected by its magic bytes, whatever the name) or stdin."""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator

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


@contextmanager
def open_stream(path: str | Path) -> Iterator[io.BufferedIOBase]:
    """A binary stream of the log's bytes, decompressed when gzip; every expected failure, when opening or while
    reading inside the `with`, is one DoctorError line."""
    name = str(path)
    try:
        if name == "-":
            stdin: Any = sys.stdin.buffer
            # A pipe is buffered already; a test's BytesIO is not.
            buffered: io.BufferedReader = stdin if hasattr(stdin, "peek") else io.BufferedReader(stdin)
            if buffered.peek(2)[:2] == _GZIP_MAGIC:
                with gzip.GzipFile(fileobj=buffered) as unzipped:
                    yield unzipped
            else:
                yield buffered
            return
        with open(name, "rb") as raw:
            head = raw.read(2)
            raw.seek(0)
            if head == _GZIP_MAGIC:
                with gzip.GzipFile(fileobj=raw) as unzipped:
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


def check_readable(path: str) -> None:
    """Fail before any work when a named log is missing (stdin is always readable)."""
    if path == "-":
        return
    p = Path(path)
    if not p.exists():
        raise DoctorError(f"{path}: no such file")
    if p.is_dir():
        raise DoctorError(f"{path}: is a directory, not a log file")
