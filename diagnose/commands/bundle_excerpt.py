"""The log part of a support bundle: one streaming pass that triages the log and keeps the lines around each hit.

Memory stays flat and time linear whatever the log's shape: bytes go in chunks to the triage scanner and to a
line splitter that keeps only the first MAX_LINE bytes of each line (a 200 MB line costs 2 KB), the lines before
a hit wait in a ring of `context` lines. Redaction runs over the whole log, not the excerpt: the private key
state (KeyBlocks) sees every line, so a key body inside the window whose BEGIN is outside is still a key.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from earthly_doctor.redact import KEY_MARKER, KEY_MARKER_MAX, KeyBlocks, Redaction, Redactor
from earthly_doctor.sanitize import clean

MAX_LINE = 2000  # bytes of one log line kept in an excerpt
MAX_EXCERPTS = 50  # per log
READ = 1 << 20
HIT_TEXTS = 3  # scanner texts kept per hit line
# A cut line ends mid-word: the piece of a token left before the cut would be a partial secret, so it goes too.
_TRAILING_WORD = re.compile(r"[A-Za-z0-9+/=_.~:-]*\Z")

Marker = tuple[bool, int, int]  # (is BEGIN, start, end) relative to the line's first byte


@dataclass
class LogLine:
    number: int
    shown: bytes  # the first MAX_LINE bytes, newline removed
    length: int  # the whole line's length in bytes
    markers: list[Marker]


class LineSplitter:
    """Chunks in, lines out: each line's first `cap` bytes, its length and every private key marker in it (also in
    the part beyond `cap`, and across chunk borders), in flat memory."""

    def __init__(self, cap: int = MAX_LINE) -> None:
        self.cap = cap
        self.number = 1
        self._shown = bytearray()
        self._length = 0
        self._line_start = 0  # absolute offset of the current line
        self._offset = 0  # absolute offset of the next chunk
        self._carry = b""  # the previous chunk's last bytes, for a marker cut in two by the chunk border
        self._marker_end = 0  # absolute end of the last marker found (the carry is searched twice)
        self._markers: list[tuple[bool, int, int]] = []  # absolute, for the current and later lines

    def feed(self, chunk: bytes | memoryview) -> Iterator[LogLine]:
        data = bytes(chunk)
        window = self._carry + data
        self._find_markers(window, self._offset - len(self._carry), final=False)
        self._carry = window[-(KEY_MARKER_MAX - 1):]
        pos = 0
        while (nl := data.find(b"\n", pos)) >= 0:
            self._take(data, pos, nl)
            yield self._line(self._offset + nl + 1)
            pos = nl + 1
        self._take(data, pos, len(data))
        self._offset += len(data)

    def _find_markers(self, window: bytes, base: int, *, final: bool) -> None:
        for m in KEY_MARKER.finditer(window):
            start = base + m.start()
            # A match that touches the window's end may grow with the next bytes: it is taken next time.
            if start >= self._marker_end and (final or m.end() < len(window)):
                self._markers.append((m.group("kind").upper() == b"BEGIN", start, base + m.end()))
                self._marker_end = base + m.end()

    def finish(self) -> Iterator[LogLine]:
        self._find_markers(self._carry, self._offset - len(self._carry), final=True)
        if self._length:
            yield self._line(self._offset)

    def _take(self, data: bytes, start: int, end: int) -> None:
        room = self.cap - len(self._shown)
        if room > 0:
            self._shown += data[start : min(end, start + room)]
        self._length += end - start

    def _line(self, next_start: int) -> LogLine:
        start = self._line_start
        markers: list[Marker] = []
        while self._markers and self._markers[0][1] < next_start:
            is_begin, m_start, m_end = self._markers.pop(0)
            markers.append((is_begin, m_start - start, m_end - start))
        shown = bytes(self._shown)
        if shown.endswith(b"\r") and self._length == len(shown):
            shown = shown[:-1]
        line = LogLine(self.number, shown, self._length, markers)
        self.number += 1
        self._shown.clear()
        self._length = 0
        self._line_start = next_start
        return line


@dataclass
class Excerpt:
    scanner: Any  # the finished triage Scanner
    text: str  # redacted
    excerpts: int
    lines: int


def excerpt_log(path: str, context: int, signatures: Any, redactor: Redactor, file: str) -> Excerpt:
    """One pass over a log (file, gzip or stdin): triage plus the redacted lines around each hit."""
    from earthly_doctor.triage import Scanner, open_stream

    scanner = Scanner(signatures)
    writer = _Writer(context, redactor, file)
    with open_stream(path) as stream:
        while chunk := stream.read(READ):
            for match in scanner.feed(chunk):
                writer.hit(match.line, match.id, match.text)
            for line in writer.splitter.feed(chunk):
                writer.line(line)
        for match in scanner.finish():
            writer.hit(match.line, match.id, match.text)
        for line in writer.splitter.finish():
            writer.line(line)
    return Excerpt(scanner, writer.result(), writer.excerpts, writer.splitter.number - 1)


class _Writer:
    def __init__(self, context: int, redactor: Redactor, file: str) -> None:
        self.context = context
        self.redactor = redactor
        self.file = file
        self.splitter = LineSplitter()
        self.keys = KeyBlocks()
        # The lines before a hit, and the hit: (number, shown, bytes cut, key blocks touched, key nearby).
        self.ring: deque[tuple[int, bytes, int, list[int], bool]] = deque(maxlen=context + 1)
        self.pending: dict[int, set[str]] = {}  # hit line → signature ids, for lines not read yet
        self.hit_texts: dict[int, list[str]] = {}  # what the scanner saw at a hit: shown when its line is cut
        self.out: list[str] = []
        self.excerpts = 0
        self.after_until = 0
        self.last_written = 0

    def hit(self, number: int, signature: str, text: str) -> None:
        if len(self.hit_texts.setdefault(number, [])) < HIT_TEXTS:
            self.hit_texts[number].append(text)
        if number >= self.splitter.number:
            self.pending.setdefault(number, set()).add(signature)
        else:  # the scanner reported a line already read: open the excerpt with what the ring still holds
            self._open(number, {signature})

    def line(self, line: LogLine) -> None:
        keyish = bool(line.markers) or self.keys.inside  # a key block touches this line, maybe beyond the part shown
        shown, touched = self.keys.line(line.shown, line.markers) if keyish else (line.shown, [])
        entry = (line.number, shown, line.length - len(line.shown), touched, keyish)
        ids = self.pending.pop(line.number, None)
        self.ring.append(entry)
        if ids is not None:
            self._open(line.number, ids)
        if line.number <= self.after_until:
            self._emit(entry)
        if not self.context:
            self.ring.clear()

    def _open(self, number: int, ids: set[str]) -> None:
        if self.excerpts >= MAX_EXCERPTS:
            return
        self.excerpts += 1
        window = [e for e in self.ring if e[0] > self.last_written and e[0] >= number - self.context]
        first = window[0][0] if window else number
        if first > self.last_written + 1:
            self.out.append(f"----- {', '.join(sorted(ids))}: lines {first}.. -----\n")
        for entry in window:
            self._emit(entry)
        self.after_until = max(self.after_until, number + self.context)

    def _emit(self, entry: tuple[int, bytes, int, list[int], bool]) -> None:
        number, shown, beyond, touched, keyish = entry
        if number <= self.last_written:
            return
        for block in touched:
            if block > self.keys.recorded:
                self.keys.recorded = block
                self.redactor.redactions.append(Redaction(self.file, "private-key", number))
        text = shown.decode("utf-8", errors="replace")
        if beyond:
            text = _TRAILING_WORD.sub("", text) + f" …[line cut: {beyond} more bytes]"
        self.out.append(f"{number:>8}: {self._safe(text, number)}\n")
        if beyond and not keyish:
            # The hit may lie far beyond the part shown: the scanner's own view of it says what failed there.
            for seen in self.hit_texts.get(number, []):
                self.out.append(f"{'':>8}  at the hit: {self._safe(seen, number)}\n")
        self.hit_texts.pop(number, None)
        self.last_written = number

    def _safe(self, text: str, number: int) -> str:
        redacted: str = self.redactor.line(text, self.file, number)
        return clean(redacted, multiline=False)

    def result(self) -> str:
        if self.excerpts:
            return "".join(self.out)
        tail = list(self.ring)[-self.context :] if self.context else []
        self.out = [f"----- no known failure signature; the last {len(tail)} lines -----\n"]
        self.last_written = 0
        for entry in tail:
            self._emit(entry)
        return "".join(self.out)

