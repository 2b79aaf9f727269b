"""A big log file scanned in parts, one process per core, stitched into the result of one pass.

Half of a scan's CPU holds the GIL (every match callback, the newline count, the work per hit), so threads in one
process reach about 1.3x one core; a forked process per part has its own GIL. Only a regular, uncompressed file
of SPLIT_MIN bytes or more is split, from the main thread of a process that runs no other thread (forking a
process whose other threads may hold locks is not safe), and only where `os.fork`, `os.preadv` and
`signal.pthread_sigmask` exist.

The parts are cut at line starts. This process scans the first part; each forked child scans one of the others
(`scan_part`), with the LOOKBACK bytes before it as context, and sends its `Part` back through a pipe. The parts
are then taken in order (`Scanner.absorb`, see part.py). Whatever goes wrong with a child (it dies, is late, sends
something unreadable, or its part cannot be placed exactly) costs only speed: the bytes from that part on are
scanned here, in order, as one pass would. `EARTHLY_DOCTOR_PARTS=1` turns splitting off; a number caps the parts.
"""

from __future__ import annotations

import io
import os
import select
import signal
import stat
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator, NoReturn

from earthly_doctor.triage.part import Part
from earthly_doctor.triage.scanner import LOOKBACK, Scanner
from earthly_doctor.triage.signatures import Signature

ENV_PARTS = "EARTHLY_DOCTOR_PARTS"
SPLIT_MIN = 64 << 20  # a smaller log takes a fraction of a second in one pass: not worth a fork
PART_MIN = 32 << 20
PARTS_MAX = 4  # each part is a process of ~50 MiB: four of them already hold 200 MiB
SEAM_SEARCH = 1 << 20  # how far past an even cut the next line start is looked for (a longer line: one part fewer)
WAIT_MIN = 30.0  # seconds a child may take after this process's own part is done (or 3x that part's time)
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class _Child:
    pid: int
    fd: int  # the read end of its pipe
    start: int  # its part's first byte
    reaped: bool = False


def _pread(fd: int, size: int, offset: int) -> bytes:
    """Up to `size` bytes at `offset` (fewer only at the end of the file)."""
    chunks: list[bytes] = []
    for _ in range(1 << 16):  # bounded: each round reads something or stops
        data = os.pread(fd, size, offset)
        if not data:
            break
        chunks.append(data)
        size, offset = size - len(data), offset + len(data)
        if size <= 0:
            break
    return b"".join(chunks)


class _Window(io.RawIOBase):
    """The bytes [start, stop) of an open file (to its end when stop is None), read at explicit offsets: a forked
    child reads through the descriptor it inherited, so it reads the very file this process opened (not whatever
    the path names by then), and no read moves another process's file offset."""

    def __init__(self, fd: int, start: int, stop: int | None) -> None:
        super().__init__()
        self._fd, self._pos, self._stop = fd, start, stop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        with memoryview(buffer) as view:
            n = len(view) if self._stop is None else min(len(view), self._stop - self._pos)
            if n <= 0:
                return 0
            with view[:n] as window:
                got = os.preadv(self._fd, [window], self._pos)
        self._pos += got
        return got


def part_count(size: int) -> int:
    """How many processes a file of `size` bytes is scanned by here (1: not split)."""
    if size < SPLIT_MIN or not hasattr(os, "fork") or not hasattr(os, "preadv"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = os.environ.get(ENV_PARTS, "").strip()
    cap = int(wanted) if wanted.isdigit() and int(wanted) > 0 else PARTS_MAX
    return max(1, min(cores, cap, PARTS_MAX, size // PART_MIN))


def seams(fd: int, size: int, parts: int) -> list[int]:
    """Where each part after the first starts: the first line start at or after each even cut."""
    out: list[int] = []
    for i in range(1, parts):
        data = _pread(fd, SEAM_SEARCH, size * i // parts - 1)
        nl = data.find(b"\n")
        if nl >= 0:
            at = size * i // parts + nl
            if (not out or at > out[-1]) and at < size:
                out.append(at)
    return out


def context_before(fd: int, offset: int) -> tuple[bytes, bool]:
    """The bytes a scanner keeps before a chunk boundary at `offset` (`Scanner._retain`'s cut: LOOKBACK of them)
    and whether they begin at a line start."""
    lo = max(0, offset - LOOKBACK)
    return _pread(fd, offset - lo, lo), lo == 0 or _pread(fd, 1, lo - 1) == b"\n"


def _scan_range(scanner: Scanner, fd: int, start: int, stop: int | None) -> None:
    """Scan [start, stop) (stop None: to the end, then finish); then settle continuations from the bytes after."""
    seen = scanner.bytes_seen
    scanner.feed_stream(_Window(fd, start, stop))
    if stop is None:
        scanner.finish()
        return
    if scanner.bytes_seen - seen != stop - start:
        raise EOFError("the file got shorter while it was read")
    want = scanner.lookahead
    after = _pread(fd, want, stop) if want else b""
    scanner.settle(after, at_eof=len(after) < want)


def _start_at(scanner: Scanner, fd: int, start: int, *, journal: bool = False) -> None:
    """Have `scanner` go on from `start` with the context a chunk boundary there would have kept."""
    before, at_line_start = context_before(fd, start)
    scanner.start_at(start, before, at_line_start=at_line_start, journal=journal)


def scan_part(fd: int, start: int, stop: int | None, signatures: Iterable[Signature]) -> Part:
    """One part of a split scan: the bytes [start, stop) of an open file (to its end when stop is None)."""
    scanner = Scanner(signatures, threads=False)
    _start_at(scanner, fd, start, journal=True)
    _scan_range(scanner, fd, start, stop)
    return scanner.part_result()


def stitch(fd: int, signatures: tuple[Signature, ...], cuts: list[int],
           parts: Iterable[Part | None]) -> Scanner:
    """Scan the first part here and take in the others' results in order (`parts`, one per cut, produced as they
    are asked for); from the first that is missing or cannot be placed exactly, scan the rest here in order."""
    scanner = Scanner(signatures, threads=False)
    _scan_range(scanner, fd, 0, cuts[0])
    results = iter(parts)
    for start, part in zip(cuts, results, strict=True):
        if part is None or not scanner.absorb(part):
            getattr(results, "close", lambda: None)()  # the parts still running are no use now
            _start_at(scanner, fd, start)
            _scan_range(scanner, fd, start, None)
            break
    return scanner


def _run_child(fd: int, start: int, stop: int | None, signatures: tuple[Signature, ...], out: int,
               mask: set[int | signal.Signals]) -> NoReturn:
    import pickle

    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the parts with the parent, quietly
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        part = scan_part(fd, start, stop, signatures)
        data = pickle.dumps(part, pickle.HIGHEST_PROTOCOL)
        with os.fdopen(out, "wb") as pipe:
            pipe.write(data)
        code = 0
    except BaseException:  # noqa: BLE001 -- the parent scans this part itself; a child never prints or raises
        code = 1
    finally:
        os._exit(code)


@contextmanager
def _sigint_held() -> Iterator[set[int | signal.Signals]]:
    """Ctrl-C waits until the block is done, then comes out as it would have. SIGINT is blocked in this thread (and
    so in a child forked meanwhile, until it sets its own handler), and Python's handler only notes it, since the
    kernel may hand a process's SIGINT to another thread, and Python then runs the handler here all the same.
    Yields the mask a forked child restores."""
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: noted.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield mask
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one that came to this thread is delivered now
        if noted:
            signal.raise_signal(signal.SIGINT)  # one another thread took: delivered again, to the usual handler


def _fork(fd: int, start: int, stop: int | None, signatures: tuple[Signature, ...], children: list[_Child]) -> None:
    """Start the child for one part and add it to `children` (from where `_end` ends it whatever happens next)."""
    r, w = os.pipe()
    # SIGINT waits until the child is in `children`: a Ctrl-C just after the fork would leave it running unseen,
    # and in the child, before its own handler is set, would raise into this process's code.
    with _sigint_held() as mask:
        try:
            pid = os.fork()
        except BaseException:
            os.close(r)
            os.close(w)
            raise
        if pid == 0:  # pragma: no cover - the child's coverage is not collected; its result is what the tests check
            os.close(r)
            _run_child(fd, start, stop, signatures, w, mask)
        os.close(w)
        children.append(_Child(pid, r, start))


def _receive(child: _Child, deadline: float) -> Part | None:
    """The child's part, or None when it failed, died or missed the deadline."""
    import pickle  # here, not at the top: 10 ms of every triage's start-up, needed only once a log is split
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([child.fd], [], [], left)[0]:
            return None
        data = os.read(child.fd, 1 << 20)
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(child.pid, 0)  # its pipe is closed: it is exiting
    child.reaped = True
    if status != 0:
        return None
    try:
        part = pickle.loads(b"".join(chunks))  # noqa: S301 -- our own fork wrote it, from our own objects
    except Exception:  # noqa: BLE001 -- a truncated result is a failed part
        return None
    return part if isinstance(part, Part) else None


def _end(children: list[_Child]) -> None:
    """Kill and reap the children still running and close their pipes (safe to call again)."""
    with _sigint_held():  # a Ctrl-C now waits until all are reaped
        for child in children:
            if not child.reaped:
                try:
                    os.kill(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(child.pid, 0)  # SIGKILL cannot be caught: this returns at once
                child.reaped = True
            if child.fd >= 0:
                os.close(child.fd)
                child.fd = -1  # closed once: the number may belong to another file by the next call


def _forkable() -> bool:
    if threading.current_thread() is not threading.main_thread():
        return False
    # Our own idle scan helper thread holds no lock a child could need; any other thread might.
    return all(t is threading.main_thread() or t.name.startswith("triage-find") for t in threading.enumerate())


def scan_split(path: str, signatures: Iterable[Signature], *, parts: int | None = None) -> Scanner | None:
    """The finished scan of the file at `path` in parts, or None when it is not split here (see the module
    docstring; then scan it in one pass). Read errors raise OSError as a plain read would."""
    sigs = tuple(signatures)
    if path == "-" or not _forkable() or not hasattr(signal, "pthread_sigmask"):
        return None
    try:
        # Non-blocking, and only a regular file: opening a FIFO would wait for a writer, and closing it again would
        # make the writer's next write fail before the one-pass scan opens it.
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None  # the one-pass scan reports it in its words
    children: list[_Child] = []
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or _pread(fd, 2, 0) == _GZIP_MAGIC:
            return None
        count = part_count(info.st_size) if parts is None else parts
        cuts = seams(fd, info.st_size, count) if count > 1 else []
        if not cuts:
            return None
        bounds = [*cuts, None]
        try:
            for lo, hi in zip(cuts, bounds[1:], strict=True):
                _fork(fd, lo, hi, sigs, children)
        except OSError:
            return None  # no process or pipe to spare (ulimit -u, memory): one pass reads it; `finally` ends the rest
        began = time.monotonic()

        def received() -> Iterator[Part | None]:
            # Asked for once this process's own part is done: the children get 3x its time, WAIT_MIN at least.
            deadline = time.monotonic() + max(WAIT_MIN, 3 * (time.monotonic() - began))
            try:
                for child in children:
                    yield _receive(child, deadline)
            finally:
                _end(children)  # closed early when a part cannot be used: the rest is scanned here

        try:
            return stitch(fd, sigs, cuts, received())
        except EOFError:
            return None  # cut while it was read: the one-pass scan reads what is there
    finally:
        _end(children)
        os.close(fd)
