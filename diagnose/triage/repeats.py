"""Lines a log repeats (a service wait loop printing the same refusal on every twentieth line), recognised in place.

Once a line has been handled and its signatures have their `keep` matches, every later copy of it only adds to
their counts. `Repeats` remembers such lines per anchor (at most RUNS_MAX each) and tells, for a batch of hits,
which sit on a copy: the same bytes from the line's start (after an optional Timestamper prefix) to its newline,
with no other pattern in the prefix. The scanner counts those in bulk; every other hit takes the usual path, so
the counts are the ones handling each hit would give (tests/unit/test_triage_finders.py proves it on look-alikes).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

from earthly_doctor.triage import vector
from earthly_doctor.triage.finders import KIND_BITS, KIND_MASK
from earthly_doctor.triage.normalise import STAMP_BYTES

RUNS_MAX = 4  # remembered lines per anchor
STAMP = 27  # a Timestamper prefix: `[2024-01-22T23:20:55.244Z] `
NEWLINE = ord("\n")


# The first byte of a key: how the rest is read. Two segments share a key only when `clean` reads them alike: it
# drops a Timestamper prefix only at a line start, and then no local or GitHub time after it.
PLAIN, STAMPED, MID_LINE = b"\n", b"\x00", b"\r"
_is_stamp = STAMP_BYTES.match


def line_key(raw: bytes, at_line_start: bool = True) -> bytes:
    """A segment's bytes as the key to its verdict: at a line start without its Timestamper prefix (the part that
    repeats when a loop prints the same line), marked by how the rest is read."""
    if not at_line_start:
        return MID_LINE + raw
    if raw[24:STAMP] == b"Z] " and _is_stamp(raw) is not None:  # the slice first: most lines fail it at once
        return STAMPED + raw[STAMP:]
    return PLAIN + raw


@dataclass(frozen=True, eq=False)  # hashed by identity: a tally per hit must not hash the needle's bytes each time
class Run:
    """One remembered line: its text after any prefix, newline included; where its one anchor starts in it; the
    signatures it matched; whether it had a Timestamper prefix (its copies must have one too)."""

    kind: int
    needle: bytes
    at: int
    ids: tuple[str, ...]
    stamped: bool = False


class Repeats:
    def __init__(self) -> None:
        self._runs: dict[int, list[Run]] = {}

    def __bool__(self) -> bool:
        return bool(self._runs)

    def remember(self, raw: bytes, kind: int, at: int, ids: tuple[str, ...], hits_in: Callable[[bytes], int]) -> None:
        """Remember a whole handled line (`raw`, newline excluded) whose anchor of `kind` starts at `at`, when it
        holds no other pattern (`hits_in(raw)` counts them all) and its key is what `line_key` gives for a copy."""
        key = line_key(raw)
        stamped, text = key[:1] == STAMPED, key[1:]
        at -= len(raw) - len(text)
        needle = text + b"\n"
        runs = self._runs.get(kind, [])
        others = [r for r in runs if (r.needle, r.stamped) != (needle, stamped)]
        same = [r for r in runs if (r.needle, r.stamped, r.at, r.ids) == (needle, stamped, at, ids)]
        if same:  # handled again before its `keep` matches were in: only the order changes, the line is not re-read
            self._runs[kind] = [*others, *same]
            return
        if at < 0 or hits_in(raw) != 1:
            return
        self._runs[kind] = [*others[-(RUNS_MAX - 1) :], Run(kind, needle, at, ids, stamped)]

    def ready(self, counts: Counter[str], keep: int) -> list[Run]:
        """The runs whose signatures all have their `keep` matches: a copy of them is only counted."""
        return [r for runs in self._runs.values() for r in runs if all(counts[sid] >= keep for sid in r.ids)]


VECTOR_HITS = 256  # a batch this big is checked in numpy when a big scan has loaded it (vector.py)


def take_copies(buf: bytearray, runs: list[Run], hits: list[int], counts: Counter[str]) -> list[int]:
    """Count the hits that sit on a copy of one of `runs` (the same bytes as the run's line from after a newline,
    or, for a run that had one, after a newline and a Timestamper prefix) with no other hit in its prefix (the hit
    before starts before the line); return the hits left to handle. A line at the very start
    of the buffer is left to the one-at-a-time path. One plain loop over the hits: it runs for every hit of a
    wait loop, and a call per check would double its cost. `_take_vector` does the same in numpy."""
    np = vector.numpy()
    if np is not None and len(hits) >= VECTOR_HITS:
        return _take_vector(np, buf, runs, hits, counts)
    by_kind: dict[int, list[Run]] = {}
    for run in runs:
        by_kind.setdefault(run.kind, []).append(run)
    starts, stamp_at, get = buf.startswith, STAMP_BYTES.match, by_kind.get
    known: set[int] = set()
    tally: Counter[Run] = Counter()
    before = -1
    for h in hits:
        p = h >> KIND_BITS
        for run in get(h & KIND_MASK, ()):
            s = p - run.at
            if s <= STAMP or not starts(run.needle, s):
                continue
            if not run.stamped and buf[s - 1] == NEWLINE:
                start = s
            elif run.stamped and buf[s - STAMP - 1] == NEWLINE and stamp_at(buf, s - STAMP) is not None:
                start = s - STAMP
            else:
                continue
            if before < start:
                known.add(p)
                tally[run] += 1
            break
        before = p
    if not known:
        return hits
    _add(tally, counts)
    return [h for h in hits if h >> KIND_BITS not in known]


def _add(tally: Counter[Run], counts: Counter[str]) -> None:
    """Each run's copies, counted for every signature it matched."""
    for run, n in tally.items():
        for sid in run.ids:
            counts[sid] += n


_SHAPE = b"[0000-00-00T00:00:00.000Z] "  # a Timestamper prefix (STAMP_BYTES): a digit where each 0 is


def _take_vector(np: Any, buf: bytearray, runs: list[Run], hits: list[int], counts: Counter[str]) -> list[int]:
    """`take_copies` on whole arrays: per run, in the same order, the hits of its kind not yet claimed by an earlier
    run whose line starts there (compared as one fixed-size value per row), with the same prefix and hit-before
    checks."""
    windows = np.lib.stride_tricks.sliding_window_view
    hit = np.array(hits, dtype=np.int64)
    pos, kind = hit >> KIND_BITS, hit & KIND_MASK
    before = np.concatenate(([-1], pos[:-1]))  # where the hit before each one starts
    data = np.frombuffer(buf, dtype=np.uint8)
    claimed = np.zeros(len(hit), dtype=bool)  # a run's line starts there: no later run is tried (the loop's break)
    known = np.zeros(len(hit), dtype=bool)
    tally: Counter[Run] = Counter()
    stamps = windows(data, STAMP + 1)  # the byte before a Timestamper prefix, then the prefix
    shape = np.frombuffer(_SHAPE, dtype=np.uint8)
    digits = shape == ord("0")
    for run in runs:
        idx = np.flatnonzero((kind == run.kind) & ~claimed)
        s = pos[idx] - run.at
        size = len(run.needle)
        fits = (s > STAMP) & (s + size <= len(data))
        idx, s = idx[fits], s[fits]
        if not len(idx):
            continue
        same = windows(data, size)[s].view(f"V{size}")[:, 0] == np.frombuffer(run.needle, dtype=f"V{size}")[0]
        idx, s = idx[same], s[same]
        pre = stamps[s - STAMP - 1]
        if run.stamped:
            stamp = pre[:, 1:]
            digit = (stamp >= ord("0")) & (stamp <= ord("9"))
            copy = (pre[:, 0] == NEWLINE) & np.where(digits, digit, stamp == shape).all(axis=1)
            start = s - STAMP
        else:
            copy = pre[:, -1] == NEWLINE
            start = s
        idx, start = idx[copy], start[copy]
        claimed[idx] = True
        counted = idx[before[idx] < start]
        known[counted] = True
        if len(counted):
            tally[run] += len(counted)
    if not tally:
        return hits
    _add(tally, counts)
    at = pos[known]  # every hit that starts where a counted copy's anchor does goes, as in the loop
    nearest = at[np.minimum(np.searchsorted(at, pos), len(at) - 1)]
    return hit[nearest != pos].tolist()  # type: ignore[no-any-return]
