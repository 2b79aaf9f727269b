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
from typing import Callable

from earthly_doctor.triage.finders import KIND_BITS, KIND_MASK

RUNS_MAX = 4  # remembered lines per anchor
STAMP = 27  # a Timestamper prefix: `[2024-01-22T23:20:55.244Z] `
NEWLINE, BRACKET = ord("\n"), ord("[")


def line_key(raw: bytes) -> bytes:
    """A line's bytes without its Timestamper prefix: the part that repeats when a loop prints the same line."""
    return raw[STAMP:] if raw[:1] == b"[" and raw[24:STAMP] == b"Z] " else raw


@dataclass(frozen=True)
class Run:
    """One remembered line: its text after any prefix, newline included; where its one anchor starts in it; the
    signatures it matched."""

    kind: int
    needle: bytes
    at: int
    ids: tuple[str, ...]


class Repeats:
    def __init__(self) -> None:
        self._runs: dict[int, list[Run]] = {}

    def __bool__(self) -> bool:
        return bool(self._runs)

    def remember(self, raw: bytes, kind: int, at: int, ids: tuple[str, ...], hits_in: Callable[[bytes], int]) -> None:
        """Remember a whole handled line (`raw`, newline excluded) whose anchor of `kind` starts at `at`, when it
        holds no other pattern (`hits_in(raw)` counts them all) and its key is what `line_key` gives for a copy."""
        key = line_key(raw)
        at -= len(raw) - len(key)
        if at < 0 or line_key(key) != key or hits_in(raw) != 1:
            return
        needle = key + b"\n"
        runs = [r for r in self._runs.get(kind, []) if r.needle != needle][-(RUNS_MAX - 1) :]
        self._runs[kind] = [*runs, Run(kind, needle, at, ids)]

    def ready(self, counts: Counter[str], keep: int) -> list[Run]:
        """The runs whose signatures all have their `keep` matches: a copy of them is only counted."""
        return [r for runs in self._runs.values() for r in runs if all(counts[sid] >= keep for sid in r.ids)]


def locate(buf: bytearray, runs: list[Run], positions: dict[int, list[int]]) -> dict[int, tuple[int, Run]]:
    """For the hit positions of each run's anchor kind: those on a copy of the run's line -> (line start, run).
    A copy starts after a newline, or after a newline and a Timestamper prefix (`[`, 23 bytes with no line break,
    `Z] `); a line at the very start of the buffer is left to the one-at-a-time path. A plain loop: this runs
    once per hit of a wait loop, and a call per check would double its cost."""
    found: dict[int, tuple[int, Run]] = {}
    starts, find = buf.startswith, buf.find
    for run in runs:
        needle, at = run.needle, run.at
        for p in positions.get(run.kind, ()):
            s = p - at
            if s <= STAMP or not starts(needle, s):
                continue
            if buf[s - 1] == NEWLINE:
                found[p] = (s, run)
            elif buf[s - STAMP - 1] == NEWLINE and buf[s - STAMP] == BRACKET and starts(b"Z] ", s - 3) \
                    and find(b"\n", s - STAMP, s) < 0 and find(b"\r", s - STAMP, s) < 0:
                found[p] = (s - STAMP, run)
    return found


def positions_by_kind(hits: list[int], kinds: set[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {k: [] for k in kinds}
    for h in hits:
        if h & KIND_MASK in out:
            out[h & KIND_MASK].append(h >> KIND_BITS)
    return out


def take(hits: list[int], located: dict[int, tuple[int, Run]], counts: Counter[str]) -> list[int]:
    """Count the located copies whose prefix holds no other hit (the hit before starts before the line) and
    return the hits left to handle."""
    if not located:
        return hits
    get = located.get
    known = {p: where[1] for h, before in zip(hits, [-1 << KIND_BITS, *hits], strict=False)
             if (where := get(p := h >> KIND_BITS)) is not None and before >> KIND_BITS < where[0]}
    if not known:
        return hits
    for run, n in Counter(known.values()).items():
        for sid in run.ids:
            counts[sid] += n
    return [h for h in hits if h >> KIND_BITS not in known]
