"""What the scan of one part of a log hands back to the scan of the part before it (`split.py` runs the parts in
parallel processes; `Scanner.part_result` makes one, `Scanner.absorb` takes it in).

Plain data, so it crosses a pipe as a pickle. A part is scanned as if its first line were the log's first, with
the bytes before it kept only as context (as a chunk boundary there would keep them). What depends on the parts
before it is made exact when it is taken in: line numbers are shifted, `keep` applies to the sum of the counts, and
each match's stage and node are recomputed by replaying the part's pipeline lines that can change them (`events`,
`PipelineState.may_change`) over the state the parts before it left. The one thing a replay cannot redo is a
lookup the part made with the old-style branch it believed a line had; such a part is refused (`branch` differs)
and its bytes are scanned again in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PartMatch:
    """A match as the part's own scanner saw it, plus what its stage needs."""

    signature: str
    line: int  # counted from the part's first line
    text: str
    timestamp: str | None
    fields: dict[str, str]
    context: str | None
    events: int  # how many of the part's `events` came before this match
    stage_text: str  # the start of its cleaned line: all a stage lookup reads
    branch: str | None  # the old-style branch the part's scanner took the line for


@dataclass(frozen=True)
class Part:
    counts: dict[str, int]
    kind_hits: list[int]
    newlines: int
    ends_with_newline: bool
    bytes_seen: int
    finished: bool  # the part ran to the log's end
    events: list[str] = field(default_factory=list)
    matches: list[PartMatch] = field(default_factory=list)
