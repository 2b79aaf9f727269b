"""Where in a buffer the literal anchors and structural markers occur: the scanner's one pass over every byte.

Two finders give the same answer, a sorted list of `(offset << KIND_BITS) | kind` for every occurrence (overlapping
ones included) that starts in [begin, limit) and ends by `stop`:
- `HyperscanFinder`: one Hyperscan literal database of all patterns, one block scan per region (the region
  already holds whole lines plus an overlap, so a block scan sees exactly what a stream would, with no state
  to carry); the per-match work is one Python callback appending one int.
- `PythonFinder`: `bytearray.find` per pattern, for platforms without the `hyperscan` wheel.

`EARTHLY_DOCTOR_SCANNER=python` forces the fallback (the tests compare both); `hyperscan` makes a missing wheel an
error instead of a silent fallback; anything else (or unset) picks Hyperscan when it imports.
"""

from __future__ import annotations

import itertools
import os
import threading
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol, Sequence, TypeVar

ENV = "EARTHLY_DOCTOR_SCANNER"
KIND_BITS = 8
KIND_MASK = (1 << KIND_BITS) - 1
MAX_PATTERNS = 1 << KIND_BITS
PIECE = 256 * 1024  # a region is searched in pieces this big, claimed by whichever thread is free
# Percent of a region this thread searches first, while the helper counts newlines: the search must outlast the
# count (0.66 ms/MiB on short Jenkins lines against 1.0 for the search), or its end waits for the GIL the count holds.
HEAD = 60

T = TypeVar("T")


class Finder(Protocol):
    name: str
    releases_gil: bool
    patterns: tuple[bytes, ...]

    def find(self, buf: bytearray, begin: int, limit: int, stop: int) -> list[int]:
        """Encoded hits `(start << KIND_BITS) | kind`, sorted, for every occurrence starting in [begin, limit)."""
        ...


class PythonFinder:
    name = "python"
    releases_gil = False

    def __init__(self, patterns: Sequence[bytes]) -> None:
        self.patterns = tuple(patterns)

    def find(self, buf: bytearray, begin: int, limit: int, stop: int) -> list[int]:
        out: list[int] = []
        for kind, pattern in enumerate(self.patterns):
            i = buf.find(pattern, begin, stop)
            while 0 <= i < limit:
                out.append((i << KIND_BITS) | kind)
                i = buf.find(pattern, i + 1, stop)
        out.sort()
        return out


class HyperscanFinder:
    name = "hyperscan"
    releases_gil = True  # a scan drops the GIL (only its match callbacks take it back)

    def __init__(self, patterns: Sequence[bytes]) -> None:
        self.patterns = tuple(patterns)
        self._db = _database(self.patterns)
        self._lengths = [len(p) for p in self.patterns]
        self._local = threading.local()  # a Hyperscan scratch is one thread's at a time (jenkins triage uses a pool)

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            import hyperscan

            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        return scratch

    def find(self, buf: bytearray, begin: int, limit: int, stop: int) -> list[int]:
        out: list[int] = []
        if stop <= begin:
            return out
        append, lengths = out.append, self._lengths
        shift = begin << KIND_BITS

        def hit(kind: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append(shift + ((to - lengths[kind]) << KIND_BITS) + kind)

        with memoryview(buf) as view, view[begin:stop] as window:
            self._db.scan(window, match_event_handler=hit, scratch=self._scratch())
        out.sort()  # reported by end offset; starts differ in order when the lengths do
        if stop > limit:  # the overlap past `limit` only completes hits that start before it
            del out[bisect_left(out, limit << KIND_BITS) :]
        return out


_DATABASES: dict[tuple[bytes, ...], Any] = {}
_LOCK = threading.Lock()


def _database(patterns: tuple[bytes, ...]) -> Any:
    """One compiled database per pattern set, for the whole process (compiling costs milliseconds; a Jenkins run
    makes a scanner per log)."""
    with _LOCK:
        db = _DATABASES.get(patterns)
        if db is None:
            import hyperscan

            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=list(patterns), ids=list(range(len(patterns))), elements=len(patterns),
                       flags=0, literal=True)
            _DATABASES[patterns] = db
        return db


_BACKGROUND: dict[str, ThreadPoolExecutor] = {}


def background() -> ThreadPoolExecutor:
    """One helper thread for the process: the main thread's scanner searches a region there while it counts the
    region's newlines itself (2 cores: the search and the count overlap)."""
    with _LOCK:
        if "find" not in _BACKGROUND:
            _BACKGROUND["find"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage-find")
        return _BACKGROUND["find"]


def find_shared(finder: Finder, buf: bytearray, begin: int, limit: int, stop: int,
                side: Callable[[], T]) -> tuple[list[int], T]:
    """`finder.find(buf, begin, limit, stop)` on both cores, with `side()` (work that holds the GIL, such as counting
    newlines) on the helper thread meanwhile. A Hyperscan search holds no GIL, so this thread searches the first
    HEAD percent of the region while the helper runs `side()`; then both claim what is left in small pieces, so neither
    core idles while the other still searches. Returns the hits and `side()`'s value."""
    head = begin + (limit - begin) * HEAD // 100
    starts = [begin, *range(head, limit, PIECE)]
    ends = [*starts[1:], limit]
    results: list[list[int]] = [[] for _ in starts]
    claim = itertools.count()  # next() on it is atomic under the GIL: each piece goes to exactly one thread
    overlap = max(map(len, finder.patterns)) - 1  # a piece's search reads on to complete a hit that starts in it

    def work() -> None:
        while (i := next(claim)) < len(starts):
            hi = ends[i]
            results[i] = finder.find(buf, starts[i], hi, min(stop, hi + overlap))

    def helper() -> T:
        value = side()
        work()
        return value

    future = background().submit(helper)
    try:
        work()  # this thread holds the GIL until the search releases it, so it claims the head
    finally:
        value = future.result()
    return [h for piece in results for h in piece], value


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def make_finder(patterns: Sequence[bytes], choice: str | None = None) -> Finder:
    """The fastest finder this platform has (see the module docstring for EARTHLY_DOCTOR_SCANNER)."""
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f"{len(patterns)} anchors and markers: at most {MAX_PATTERNS}")
    choice = (choice or os.environ.get(ENV, "")).strip().lower()
    if choice == "python" or any(b"\0" in p for p in patterns):  # the binding passes patterns as C strings
        return PythonFinder(patterns)
    if choice == "hyperscan" or hyperscan_available():
        return HyperscanFinder(patterns)
    return PythonFinder(patterns)
