"""numpy for the two per-byte and per-hit chores of a big scan: counting line ends, and checking repeated lines.

`bytes.count` runs at 0.3-0.6 ms per MiB and holds the GIL, so it stalls the match callbacks of a search running on
the other core; numpy compares and counts at about 0.1 ms per MiB without the GIL. Checking the hits of a wait loop
for copies of a remembered line (`repeats.take_copies`) costs about 0.5 ms per MiB in a Python loop, 0.15 in numpy.
Importing numpy costs about 80 ms, so a scan loads it (`vectorise`) only once it has read BIG bytes; small ranges
and small batches take the plain path either way, and so does everything where numpy is missing.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any

BIG = 64 << 20  # bytes a scan reads before it loads numpy
VECTOR_MIN = 256 * 1024  # a shorter range is counted by bytes.count (numpy's set-up per call costs microseconds)
BLOCK = 1 << 20  # counted a block at a time into one reused mask, so a count allocates nothing

_BLAS_THREADS = "OPENBLAS_NUM_THREADS"
_np: Any = None
_tried = False
_lock = threading.Lock()
_local = threading.local()


def vectorise() -> bool:
    """Load numpy for the big counts; False where it is missing."""
    global _np, _tried  # noqa: PLW0603 -- one import per process, shared by every scanner
    with _lock:
        if not _tried:
            _tried = True
            # numpy's OpenBLAS starts a thread per core at import; a scan never multiplies matrices, and a
            # process with stray threads is a worse one to fork (split.py).
            blas = os.environ.get(_BLAS_THREADS)
            os.environ[_BLAS_THREADS] = "1"
            try:
                _np = importlib.import_module("numpy")
            except ImportError:
                _np = None
            finally:
                if blas is None:
                    del os.environ[_BLAS_THREADS]
                else:
                    os.environ[_BLAS_THREADS] = blas
    return _np is not None


def numpy() -> Any:
    """The numpy module once `vectorise` loaded it, else None."""
    return _np


def count(buf: bytearray, lo: int, hi: int) -> int:
    """The `\\n` bytes in buf[lo:hi]."""
    np = _np
    if np is None or hi - lo < VECTOR_MIN:
        return buf.count(b"\n", lo, hi)
    mask = getattr(_local, "mask", None)
    if mask is None or len(mask) < BLOCK:
        mask = _local.mask = np.empty(BLOCK, dtype=bool)
    data = np.frombuffer(buf, dtype=np.uint8, count=hi - lo, offset=lo)
    total = 0
    for at in range(0, hi - lo, BLOCK):
        block = data[at : at + BLOCK]
        total += int(np.count_nonzero(np.equal(block, 10, out=mask[: len(block)])))
    return total
