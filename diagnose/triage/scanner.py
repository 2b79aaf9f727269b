"""The streaming signature scanner (see the package docstring for the API).

How it stays fast and flat:
- Bytes arrive in chunks into one bytearray. Only complete lines are scanned; what is left (an unfinished line)
  waits for the next chunk, up to PENDING_MAX bytes, after which it is scanned anyway (a 10 MB line with no newline
  costs a bounded buffer, never the whole line).
- One pass finds every literal anchor and structural marker in the region (`finders`: one Hyperscan database,
  or `bytearray.find` per pattern where Hyperscan is missing; both give the same hits). A Hyperscan search
  drops the GIL, so a big region is searched on both cores (`finders.find_shared`) while the helper thread also
  counts its newlines; where hits are dense the count waits until the search is done, since each match callback
  takes the GIL back and would wait for the count. Only around a hit is a
  segment cut out (bounded to HALF bytes either side), cleaned, and given to the regexes of the signatures whose
  anchors were hit there. A segment ends at `\\n` or `\\r`, so every progress redraw is seen, and line numbers
  count `\\n` only.
- Structure costs per stage, not per line: only the markers that change the stage or node are found
  (`normalise.STRUCTURAL_MARKERS`), never the anonymous `[Pipeline] {`/`}` and step lines.
- A line seen before (Timestamper prefix aside) whose signatures all have their `keep` matches is counted, not
  handled, when no `on_match` wants each match and its verdict needs no line before it (no `unless`, no
  required context): a wait loop repeating a refusal a million times costs a lookup per line, not a regex
  search, and every count stays exact. A whole line that holds one anchor and nothing else is remembered
  (`repeats`) and its copies are recognised in place, a region at a time, without cutting out a segment.
- After the scanned region, LOOKBACK bytes are kept so a hit can read the lines before it (the two-line
  `pull ping error` pair, the Earthly target) even across chunk boundaries.
"""

from __future__ import annotations

import copy
import io
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator

from earthly_doctor.triage import vector
from earthly_doctor.triage.finders import ENV, KIND_BITS, KIND_MASK, Finder, find_shared, make_finder
from earthly_doctor.triage.normalise import STRUCTURAL_MARKERS, PipelineState, clean, decode, timestamp_of
from earthly_doctor.triage.part import Part, PartMatch
from earthly_doctor.triage.repeats import Repeats, line_key, take_copies
from earthly_doctor.triage.signatures import Continuation, Signature, builtin_signatures

HALF = 8 * 1024  # bytes kept either side of a hit: a segment never exceeds 2 * HALF
LOOKBACK = 32 * 1024  # bytes of already-scanned text kept for context lines
PENDING_MAX = 1024 * 1024  # an unfinished line longer than this is scanned without waiting for its end
OVERLAP_MIN = 256 * 1024  # a region this big is searched on a helper thread while its newlines are counted
VERDICTS_MAX = 4096  # distinct line texts remembered with their verdict
DENSE = 64  # hits per MiB above which a region's newlines are counted after its search, not during it
TEXT_LIMIT = 2000  # characters of a matched line kept in a Match
TARGET_LOOKBACK = 16 * 1024
STAGE_TEXT = 256  # a line's first characters: all a stage lookup reads (an old-style `[branch] ` is at most 203)
PROXY_UNREACHABLE = "proxy-unreachable"

# An Earthly output prefix (`   +build | …`, `./sub+image | …`) or an `sh -x` trace of the earthly call.
_TARGET = re.compile(
    r"^\s{0,40}(?P<t>[\w./:@-]{0,200}\+[A-Za-z0-9][\w.-]{0,100})(?:\([0-9a-f]{6,12}\))?\s{0,4}(?:\*[a-z]{1,20}\*\s{0,4})?\|"
    r"|^\+ (?:\S{1,200}/)?(?:earthly|earth)\b[^\n]{0,400}?\s(?P<c>[\w./:@-]{0,200}\+[A-Za-z0-9][\w.-]{0,100})(?:\s|$)"
)


@dataclass
class _Pending:
    match: Match
    continuation: Continuation
    left: int  # lines still to read
    pos: int = 0  # absolute offset of the next line to read


@dataclass
class Match:
    """One signature hit: where (line, timestamp, stage, node), what (fields), and the cleaned text."""

    signature: Signature
    line: int
    text: str
    timestamp: str | None = None
    stage: str | None = None
    node: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    context: str | None = None

    @property
    def id(self) -> str:
        return self.signature.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.id,
            "line": self.line,
            "timestamp": self.timestamp,
            "stage": self.stage,
            "node": self.node,
            **self.fields,
            "text": self.text,
            "context": self.context,
        }


@dataclass(frozen=True)
class _Where:
    """Where a handled segment sits: its line number, start, physical line start and Timestamper time."""

    line: int
    seg_start: int
    line_start: int | None
    stamp: str | None


# A signature whose pattern matched a segment: (signature, match, context match, context line).
_Hit = tuple[Signature, re.Match[str], re.Match[str] | None, str | None]


class Scanner:
    """Feed bytes (`feed`), or lines (`feed_line`); call `finish` at the end. Matches come back as they are found.

    `finder` picks how anchors are found: "hyperscan", "python", or None for the environment's choice
    (see `finders`); every finder gives the same matches."""

    def __init__(
        self,
        signatures: Iterable[Signature] | None = None,
        *,
        on_match: Callable[[Match], None] | None = None,
        keep: int = 50,
        finder: str | None = None,
        threads: bool = True,
    ) -> None:
        self.signatures: tuple[Signature, ...] = tuple(builtin_signatures() if signatures is None else signatures)
        self.on_match = on_match
        self.keep = keep
        self._threads = threads  # off in a part of a split scan: the other cores run the other parts
        choice = (finder or os.environ.get(ENV, "")).strip().lower()
        self._finder, self._patterns, self._n_anchors, self._kind_mask = _layout(
            tuple(s.anchors for s in self.signatures), choice)
        self._maxlen = max(map(len, self._patterns))
        self._by_mask: dict[int, tuple[Signature, ...]] = {}
        # A line's text (Timestamper prefix aside) -> the signatures it matched, for lines whose verdict needs no
        # line before them: a wait loop printing the same refusal a million times is looked up, not re-matched.
        self._verdicts: dict[bytes, tuple[str, ...]] = {}
        self._repeats = Repeats()
        self._dense = False  # the last region searched had more than DENSE hits per MiB
        self._vector = False  # newlines are counted without the GIL (numpy, once the log is big: vector.py)
        self._kind_hits = [0] * len(self._patterns)
        # A fixed-capacity buffer: bytes arrive by slice assignment and the kept tail moves to the front, so a
        # steady stream never reallocates (a fresh megabyte per chunk costs page faults, not just a copy).
        self._buf = bytearray()
        self._end = 0  # bytes of _buf in use
        self._base = 0  # absolute offset of _buf[0]
        self._scan = 0  # index in _buf of the first byte not yet scanned
        self._skip = 0  # absolute offset: hits before it fell inside an already handled segment
        self._line = 1  # line number at absolute offset _counted
        self._counted = 0
        self._buf_at_line_start = True
        self._finished = False
        self._detached = False
        self.pipeline = PipelineState()
        self.counts: Counter[str] = Counter()
        self.matches: list[Match] = []
        self.bytes_seen = 0
        self._ends_with_newline = True
        self._pending: list[_Pending] = []  # matches whose continuation lines have not all arrived
        # In a part of a split scan (`part.py`): the pipeline lines seen, and per match what its stage needs.
        self._journal: list[str] | None = None
        self._marks: dict[int, tuple[int, str, str | None]] = {}

    # ---- public API -------------------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[Match]:
        """Scan the next chunk (any size, any split); returns the matches completed by it."""
        if self._finished or self._detached:
            raise RuntimeError("feed() after finish()" if self._finished else "feed() after absorb(): start_at first")
        if not data:
            return []
        n = len(data)
        self._reserve(n)
        self._buf[self._end : self._end + n] = data
        return self._appended(n)

    def feed_stream(self, stream: io.BufferedIOBase | io.RawIOBase, size: int = 4 << 20) -> list[Match]:
        """Read a binary stream (file, gzip, stdin) to its end straight into the scan buffer, with no copy per
        chunk; returns the matches found. Call `finish` afterwards."""
        if self._finished or self._detached:
            raise RuntimeError("feed_stream() after finish()" if self._finished
                               else "feed_stream() after absorb(): start_at first")
        found: list[Match] = []
        while True:
            self._reserve(size)
            with memoryview(self._buf) as view, view[self._end : self._end + size] as window:
                n = stream.readinto(window)
            if not n:
                return found
            found += self._appended(n)

    def feed_line(self, line: str | bytes) -> list[Match]:
        """One line (from a subprocess, say); a missing newline is added. Returns the matches it completed."""
        data = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else bytes(line)
        if not data.endswith(b"\n"):
            data += b"\n"
        return self.feed(data)

    def finish(self) -> list[Match]:
        """Scan what is left (a last line without a newline). Idempotent."""
        if self._finished:
            return []
        found: list[Match] = []
        if self._end > self._scan:
            found = self._scan_region(self._scan, self._end, self._end)
        self._finished = True
        if self._pending:
            self._resume(self._end)  # the last line may end without a newline
            self._pending = []
        self._count_to(self._end)
        self._buf, self._end = bytearray(), 0
        return found

    # ---- parts of a split scan (split.py, part.py) -----------------------------------------------------------

    def start_at(self, offset: int, before: bytes | bytearray, *, at_line_start: bool, journal: bool = False) -> None:
        """Go on from absolute `offset`, a line start, as if all bytes before it had been scanned, keeping `before`
        (the bytes that end there, cut as `_retain` cuts them) as context. Counts, line number and pipeline state
        stay as they are: a fresh scanner numbers the lines of its part from 1. `journal` records what `absorb`
        needs to place this part's matches after the parts before it."""
        self._buf, self._end = bytearray(before), len(before)
        self._scan, self._base = self._end, offset - self._end
        self._skip = self._counted = offset
        self._buf_at_line_start = at_line_start
        self._ends_with_newline = True
        self._detached = False
        if journal:
            self._journal, self._marks = [], {}

    @property
    def lookahead(self) -> int:
        """Bytes after the last scanned line that `settle` needs to finish every pending continuation."""
        within = max((s.continuation.within for s in self.signatures if s.continuation is not None), default=0)
        return within * (2 * HALF + 1)

    def settle(self, after: bytes | bytearray, *, at_eof: bool) -> None:
        """Finish the continuations still pending from `after`, the bytes that follow the ones scanned (at least
        `lookahead` of them unless the log ends there), without searching them: the next part searches them."""
        if not self._pending:
            return
        end, n, finished = self._end, len(after), self._finished
        self._reserve(n)
        self._buf[end : end + n] = after
        self._finished = at_eof  # at the log's end a last line without a newline is read whole, as `finish` does
        try:
            self._resume(end + n)
        finally:
            self._finished, self._end = finished, end
        if at_eof:
            self._pending = []  # no line is left to read: what they hold is final, as `finish` leaves it

    def part_result(self) -> Part:
        """This scanner's results as a part of a split scan (`start_at(..., journal=True)` began it)."""
        matches = []
        for m in self.matches:
            events, stage_text, branch = self._marks[id(m)]
            matches.append(PartMatch(m.id, m.line, m.text, m.timestamp, dict(m.fields), m.context, events,
                                     stage_text, branch))
        return Part(dict(self.counts), list(self._kind_hits), self._line - 1, self._ends_with_newline,
                    self.bytes_seen, self._finished, list(self._journal or ()), matches)

    def absorb(self, part: Part) -> bool:
        """Take in the part that follows the bytes this scanner has seen, as one pass over both would have left
        things (part.py says how). False, with nothing changed, when that cannot be exact: a continuation here is
        still pending, or the part took a line for another old-style branch than the state here says."""
        by_id = {s.id: s for s in self.signatures}
        if self._pending or self._finished or any(pm.signature not in by_id for pm in part.matches):
            return False
        state, done, shift = copy.deepcopy(self.pipeline), 0, self._line - 1
        placed: list[Match] = []
        for pm in part.matches:
            for text in part.events[done : pm.events]:
                state.observe(text)
            done = max(done, pm.events)
            if state.branch_of(pm.stage_text) != pm.branch:
                return False
            placed.append(Match(by_id[pm.signature], pm.line + shift, pm.text, pm.timestamp,
                                state.stage_for(pm.stage_text), state.node, dict(pm.fields), pm.context))
        for text in part.events[done:]:
            state.observe(text)
        taken: Counter[str] = Counter()
        for m in placed:  # the part kept its first `keep` of each; one pass keeps the first `keep` of the sum
            if self.counts[m.id] + taken[m.id] < self.keep:
                self.matches.append(m)
            taken[m.id] += 1
        self.counts.update(part.counts)
        self._kind_hits = [a + b for a, b in zip(self._kind_hits, part.kind_hits, strict=True)]
        self._line += part.newlines
        self.bytes_seen += part.bytes_seen
        if part.bytes_seen:
            self._ends_with_newline = part.ends_with_newline
        self.pipeline = state
        self._detached = True  # the buffer no longer ends where the bytes seen do: `start_at` before feeding again
        if part.finished:
            self._finished = True
            self._buf, self._end = bytearray(), 0
        return True

    @property
    def finder(self) -> str:
        """Which finder searched: "hyperscan" or "python"."""
        return self._finder.name

    @property
    def anchor_hits(self) -> dict[str, int]:
        """Occurrences of each literal anchor and structural marker in the bytes read (what `grep -F -o` sees)."""
        return {p.decode(): n for p, n in zip(self._patterns, self._kind_hits, strict=True)}

    def seen(self, signature_id: str) -> bool:
        return self.counts.get(signature_id, 0) > 0

    def first(self, signature_id: str) -> Match | None:
        return next((m for m in self.matches if m.id == signature_id), None)

    @property
    def lines(self) -> int:
        """Lines read so far (a last line without a newline counts once finished)."""
        return self._line - 1 + (0 if self._ends_with_newline or not self._finished else 1)

    # ---- internals --------------------------------------------------------------------------------------------

    def _reserve(self, n: int) -> None:
        if self._end + n > len(self._buf):
            self._buf.extend(bytes(max(n, len(self._buf), 1 << 16)))

    def _appended(self, n: int) -> list[Match]:
        """Scan the complete lines that the `n` bytes just written after `_end` finish."""
        self.bytes_seen += n
        if not self._vector and self.bytes_seen >= vector.BIG:
            self._vector = vector.vectorise()
        self._end += n
        buf, total = self._buf, self._end
        self._ends_with_newline = buf[total - 1] == 10
        start = self._scan
        newline = buf.rfind(b"\n", start, total)
        if newline >= 0:
            limit, end = newline + 1, newline + 1
        elif total - start > PENDING_MAX:
            limit, end = total - HALF, total
        else:
            return []
        found = self._scan_region(start, limit, end)
        self._retain(limit)
        return found

    def _scan_region(self, start: int, limit: int, end: int) -> list[Match]:
        """Handle every anchor hit starting in [start, limit); segments may read up to `end`."""
        if self._pending:
            self._resume(end)
        # Hits before `begin` lie in a segment the region before read past its limit (a long line scanned before its
        # end): they are found all the same, so `anchor_hits` does not depend on where the reads ended.
        begin = max(start, self._skip - self._base)
        stop = min(end, limit + self._maxlen - 1)
        total: int | None = None  # the region's newlines, when counted while the finder ran
        line0 = self._line
        if start >= limit:
            hits: list[int] = []
        elif (limit - start >= OVERLAP_MIN and self._threads and self._finder.releases_gil
              and threading.current_thread() is threading.main_thread()):
            # Hyperscan runs without the GIL: both cores search while the helper also counts the region's newlines,
            # unless hits are dense and the count holds the GIL: every match callback would wait for it.
            counted = self._counted - self._base
            if self._dense and not self._vector:
                hits, _ = find_shared(self._finder, self._buf, start, limit, stop, lambda: None)
            else:
                hits, total = find_shared(self._finder, self._buf, start, limit, stop,
                                          lambda: vector.count(self._buf, counted, limit))
            self._dense = len(hits) > (limit - start) * DENSE >> 20
        else:
            hits = self._finder.find(self._buf, start, limit, stop)
        found: list[Match] = []
        kind_hits = self._kind_hits
        for h in hits:
            kind_hits[h & KIND_MASK] += 1
        if begin > start:
            hits = [h for h in hits if h >> KIND_BITS >= begin]
        ready = self._repeats.ready(self.counts, self.keep) if self._repeats and self.on_match is None else []
        if ready:
            hits = take_copies(self._buf, ready, hits, self.counts)
        skip = begin
        for i, h in enumerate(hits):
            p = h >> KIND_BITS
            if p < skip:
                continue
            kind = h & KIND_MASK
            seg_end = self._count_repeat(p, end) if self.on_match is None and self._verdicts else -1
            if seg_end < 0:
                seg_end = self._handle(p, kind, end, found, hits, i)
            skip = max(seg_end, p + 1)
            self._skip = self._base + skip
        if total is None:
            self._count_to(limit)
        else:
            self._line, self._counted = line0 + total, self._base + limit
        return found

    def _count_to(self, rel: int) -> int:
        counted = self._counted - self._base
        if rel > counted:
            self._line += vector.count(self._buf, counted, rel)
            self._counted = self._base + rel
        return self._line

    def _retain(self, limit: int) -> None:
        # Exactly LOOKBACK, even from inside a line: a line after `limit` then reads back what it would in one
        # chunk (a context line longer than LOOKBACK is read from its end), so chunking never changes a match.
        keep_from = max(0, limit - LOOKBACK)
        if keep_from > 0:
            self._buf_at_line_start = self._buf[keep_from - 1] == 10
            kept = self._end - keep_from
            self._buf[0:kept] = self._buf[keep_from : self._end]  # a copy of the small tail, then one memmove
            self._end = kept
            self._base += keep_from
        self._scan = limit - keep_from

    def _segment_bounds(self, p: int, end: int) -> tuple[int, int, int | None]:
        """(segment start, segment end, physical line start or None) around offset p. A `\\r` is only looked for
        between the line's `\\n` and p (and p and the next `\\n`): no 8 KB walk on a line without one."""
        buf = self._buf
        lo = p - HALF if p > HALF else 0
        nl = buf.rfind(b"\n", lo, p)
        cr = buf.rfind(b"\r", nl + 1 if nl >= 0 else lo, p)
        brk = cr if cr > nl else nl  # noqa: FURB136 -- cheaper than a builtin call, once per hit
        seg_start = brk + 1 if brk >= 0 else lo
        if nl >= 0:
            line_start: int | None = nl + 1
        elif lo == 0 and self._buf_at_line_start:
            line_start = 0
        else:
            line_start = None
        hi = end if end < p + HALF else p + HALF  # noqa: FURB136 -- as above
        nl_after = buf.find(b"\n", p, hi)
        cr_after = buf.find(b"\r", p, nl_after if nl_after >= 0 else hi)
        seg_end = cr_after if cr_after >= 0 else nl_after if nl_after >= 0 else hi
        return seg_start, seg_end, line_start

    def _handle(self, p: int, kind: int, end: int, found: list[Match], hits: list[int], i: int) -> int:
        buf = self._buf
        seg_start, seg_end, line_start = self._segment_bounds(p, end)
        raw = bytes(buf[seg_start:seg_end])
        text, stamp = clean(decode(raw), at_line_start=seg_start == line_start)
        if self.pipeline.observe(text):
            if self._journal is not None and PipelineState.may_change(text):
                self._journal.append(text)
            return seg_end
        mask = self._mask_between(hits, i, seg_end)
        if not mask:
            return seg_end
        if stamp is None and line_start is not None and line_start != seg_start:
            stamp = timestamp_of(bytes(buf[line_start : line_start + 27]))
        where = _Where(self._count_to(p), seg_start, line_start, stamp)
        hits_here = self._hits(self._signatures_of(mask), text, seg_start)
        hidden = {s for sig, *_ in hits_here for s in sig.supersedes}
        recorded: list[str] = []
        for sig, m, ctx, ctx_text in hits_here:
            if sig.id in hidden:
                continue
            recorded.append(sig.id)
            if self.on_match is None and self.counts[sig.id] >= self.keep:
                # Nobody will see this one: count it and skip the lookbacks (a log repeating a failure a
                # million times must cost a count, not a million target searches).
                self.counts[sig.id] += 1
                continue
            match = self._match(sig, m, ctx, ctx_text, text, where)
            if sig.continuation is not None:
                self._continue(_Pending(match, sig.continuation, sig.continuation.within), m, seg_end, end)
            self._record(match, found)
        if self.on_match is None and not any(sig.unless is not None or sig.context_required
                                             for sig in self._signatures_of(mask)):
            if len(self._verdicts) >= VERDICTS_MAX:
                self._verdicts.clear()
            self._verdicts[line_key(raw, seg_start == line_start)] = tuple(recorded)
            if seg_start == line_start and seg_end < end and buf[seg_end] == 10:
                self._repeats.remember(raw, kind, p - seg_start, tuple(recorded), self._patterns_in)
        return seg_end

    def _patterns_in(self, raw: bytes) -> int:
        return len(self._finder.find(bytearray(raw), 0, len(raw), len(raw)))

    def _count_repeat(self, p: int, end: int) -> int:
        """For a segment seen before whose signatures all have their `keep` matches: count them again without
        matching (the same text matches the same way) and return the segment's end; else -1."""
        seg_start, seg_end, line_start = self._segment_bounds(p, end)
        ids = self._verdicts.get(line_key(bytes(self._buf[seg_start:seg_end]), seg_start == line_start))
        if ids is None:
            return -1
        counts, keep = self.counts, self.keep
        for sid in ids:
            if counts[sid] < keep:
                return -1
        for sid in ids:
            counts[sid] += 1
        return seg_end

    def _mask_between(self, hits: list[int], i: int, seg_end: int) -> int:
        """The signatures (a bit mask) of every anchor hit from hits[i] to the segment's end (the hits are sorted;
        none before hits[i] in this segment is unhandled)."""
        mask, n_anchors, bound = 0, self._n_anchors, seg_end << KIND_BITS
        for h in hits[i:]:
            if h >= bound:
                break
            k = h & KIND_MASK
            if k < n_anchors:
                mask |= self._kind_mask[k]
        return mask

    def _match(self, sig: Signature, m: re.Match[str], ctx: re.Match[str] | None, ctx_text: str | None,
               text: str, where: _Where) -> Match:
        fields = sig.extract(m, ctx)
        branch = self.pipeline.branch_of(text)
        if "target" not in fields and sig.kind in ("failure", "look-alike"):
            target = self._target_before(where.line_start if where.line_start is not None else where.seg_start,
                                         branch)
            if target:
                fields["target"] = target
        match = Match(sig, where.line, text[:TEXT_LIMIT].strip(), where.stamp, self.pipeline.stage_for(text),
                      self.pipeline.node, fields, ctx_text[:TEXT_LIMIT] if ctx_text else None)
        if self._journal is not None:
            self._marks[id(match)] = (len(self._journal), text[:STAGE_TEXT], branch)
        return match

    def _signatures_of(self, mask: int) -> tuple[Signature, ...]:
        sigs = self._by_mask.get(mask)
        if sigs is None:
            sigs = self._by_mask[mask] = tuple(s for i, s in enumerate(self.signatures) if mask >> i & 1)
        return sigs

    def _hits(self, sigs: tuple[Signature, ...], text: str, seg_start: int) -> list[_Hit]:
        """The candidate signatures whose anchor, pattern and context lines hold for this segment."""
        hits: list[_Hit] = []
        for sig in sigs:
            if not any(a in text for a in sig.anchors):
                continue
            m = sig.regex.search(text)
            if m is None:
                continue
            if sig.unless is not None and sig.vetoable(m) \
                    and self._context(seg_start, sig.unless, sig.unless_within)[0] is not None:
                continue  # a line before says this one is quoted where it is not the failure
            ctx, ctx_text = (None, None)
            if sig.context is not None and (sig.context_required or self.on_match is not None
                                            or self.counts[sig.id] < self.keep):
                ctx, ctx_text = self._context(seg_start, sig.context, sig.context_within)
                if ctx is None and sig.context_required:
                    continue
            hits.append((sig, m, ctx, ctx_text))
        return hits

    def _continue(self, pending: _Pending, m: re.Match[str], seg_end: int, end: int) -> None:
        """Fill the continuation field from the matched line, or from the lines after it as they arrive."""
        cont = pending.continuation
        start = m.group(cont.start) if cont.start is not None else None
        value = cont.find(start) if start is not None else None
        if value is not None:
            pending.match.fields[cont.field] = value
            return
        if start is not None:
            pending.match.fields[cont.field] = start.strip()  # the best there is until a later line ends it
        nl = self._buf.find(b"\n", seg_end, max(end, seg_end + 1))
        pending.pos = self._base + (nl + 1 if nl >= 0 else max(end, seg_end))
        if not self._follow(pending, end):
            self._pending.append(pending)

    def _follow(self, pending: _Pending, end: int) -> bool:
        """Read whole lines from the pending position up to `end`; True once the continuation is settled."""
        buf, cont = self._buf, pending.continuation
        pos = max(0, pending.pos - self._base)
        while pending.left > 0 and pos < end:
            nl = buf.find(b"\n", pos, min(end, pos + 2 * HALF))
            if nl < 0 and end - pos < 2 * HALF and not self._finished:
                return False  # the line is not complete yet
            stop = nl if nl >= 0 else min(end, pos + 2 * HALF)
            raw = bytes(buf[pos:stop])
            pos = stop + 1
            pending.pos = self._base + pos
            pending.left -= 1
            parts = [x for x in raw.split(b"\r") if x.strip()]
            if not parts:
                continue
            text, _ = clean(decode(parts[-1]), at_line_start=len(parts) == 1)
            value = cont.find(text)
            if value is not None:
                pending.match.fields[cont.field] = value
                return True
        return pending.left <= 0

    def _resume(self, end: int) -> None:
        self._pending = [p for p in self._pending if not self._follow(p, end)]

    def _record(self, match: Match, found: list[Match]) -> None:
        self.counts[match.id] += 1
        if self.on_match is not None:
            self.on_match(match)
        if self.counts[match.id] <= self.keep:
            self.matches.append(match)
            found.append(match)

    def _context(self, seg_start: int, pattern: re.Pattern[str], within: int) -> tuple[Any, str | None]:
        """Search the `within` non-empty segments before this one for `pattern`."""
        buf = self._buf
        floor = max(0, seg_start - LOOKBACK)
        pos, seen = seg_start, 0
        for _ in range(within * 3 + 4):
            stop = pos - 1  # the break before the current segment
            if stop < floor:
                break
            lo = max(floor, stop - HALF)
            brk = max(buf.rfind(b"\n", lo, stop), buf.rfind(b"\r", lo, stop))
            prev = brk + 1 if brk >= 0 else lo
            raw = bytes(buf[prev:stop])
            pos = prev
            if not raw.strip():
                continue
            text, _ = clean(decode(raw))
            m = pattern.search(text)
            if m is not None:
                return m, text
            seen += 1
            if seen >= within:
                break
        return None, None

    def _target_before(self, rel: int, branch: str | None = None) -> str | None:
        """The last Earthly target printed in the TARGET_LOOKBACK bytes before this line; for a line of an
        old-style parallel branch (`[Base image] …`), the last one that branch printed."""
        lo = max(0, rel - TARGET_LOOKBACK)
        chunk = decode(bytes(self._buf[lo:rel]))
        prefix = f"[{branch}] " if branch is not None else None
        for raw_line in reversed(chunk.replace("\r", "\n").split("\n")[-400:]):
            if "+" not in raw_line:
                continue
            if prefix is None and "\x1b" not in raw_line and "earth" not in raw_line:
                # Cleaning drops no `|` or `+` here, so without a `+` before the first `|` this is neither an
                # Earthly output prefix nor an `sh -x` trace of earthly: skip it uncleaned (`output | … +image`).
                bar = raw_line.find("|")
                if bar < 0 or "+" not in raw_line[:bar]:
                    continue
            text, _ = clean(raw_line)
            if prefix is not None:
                if not text.startswith(prefix):
                    continue
                text = text[len(prefix) :]
            m = _TARGET.search(text)
            if m:
                return m.group("t") or m.group("c")
        return None


@lru_cache(maxsize=16)
def _layout(anchors_by_signature: tuple[tuple[str, ...], ...],
            choice: str) -> tuple[Finder, list[bytes], int, list[int]]:
    """What a scanner for signatures with these anchors searches for, built once per process (a Jenkins triage
    makes two scanners per failed build): the finder, its patterns (the minimal anchors, then the structural
    markers), how many of them are anchors, and per anchor the signatures it can lead to (a bit mask)."""
    anchors = {a for group in anchors_by_signature for a in group}
    # An anchor that contains a shorter one is found through the shorter one: one pattern fewer.
    minimal = sorted(a for a in anchors if not any(b != a and b in a for b in anchors))
    encoded = [a.encode() for a in minimal]
    patterns = encoded + [m.encode() for m in STRUCTURAL_MARKERS if m.encode() not in encoded]
    kind_mask = [sum(1 << i for i, group in enumerate(anchors_by_signature) if any(a in x for x in group))
                 for a in minimal]
    return make_finder(patterns, choice or None), patterns, len(encoded), kind_mask


def scan_chunks(chunks: Iterable[bytes], signatures: Iterable[Signature] | None = None, **kw: Any) -> Scanner:
    """Scan a whole stream of byte chunks; the finished Scanner holds matches, counts and line totals."""
    scanner = Scanner(signatures, **kw)
    for chunk in chunks:
        scanner.feed(chunk)
    scanner.finish()
    return scanner


def scan_text(text: str | bytes, signatures: Iterable[Signature] | None = None) -> list[Match]:
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return scan_chunks([data], signatures).matches


def fixture_failures(signatures: Iterable[Signature], only: Iterable[str] | None = None) -> list[str]:
    """Run every fixture of the chosen signatures through the real scanner (with all signatures, so `supersedes`
    applies); one line per problem, empty when all hold."""
    sigs = tuple(signatures)
    wanted = set(only) if only is not None else {s.id for s in sigs}
    problems: list[str] = []
    for sig in sigs:
        if sig.id not in wanted:
            continue
        for n, fx in enumerate(sig.matches, 1):
            got = [m for m in scan_text(fx.text, sigs) if m.id == sig.id]
            if not got:
                problems.append(f"{sig.id}: match fixture {n} did not match ({sig.source})")
                continue
            values = {**{k: v for k, v in got[0].to_dict().items() if v is not None}}
            for key, want in fx.expect.items():
                if str(values.get(key)) != want:
                    problems.append(f"{sig.id}: match fixture {n}: {key} = {values.get(key)!r}, expected {want!r}")
        for n, fx in enumerate(sig.no_matches, 1):
            if any(m.id == sig.id for m in scan_text(fx.text, sigs)):
                problems.append(f"{sig.id}: no_match fixture {n} matched ({sig.source})")
    return problems


def iter_lines_matches(lines: Iterable[str | bytes], signatures: Iterable[Signature] | None = None) -> Iterator[Match]:
    """Lines in, matches out, as they happen (for a build's output read line by line)."""
    scanner = Scanner(signatures)
    for line in lines:
        yield from scanner.feed_line(line)
    yield from scanner.finish()
