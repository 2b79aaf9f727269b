"""Text plumbing shared by the editors: refusals, outcomes, offset splicing and line-ending handling."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


class EditRefused(Exception):
    """The editor cannot change this file safely; `line` (1-based, 0 when unknown) points at the reason."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class NotApplicable(EditRefused):
    """The file is fine, but this remedy has nothing to change in it (earthly runs on the node, say): the reason is
    advice, not a parsing problem."""


@dataclass
class EditOutcome:
    text: str
    changes: list[str] = field(default_factory=list)  # "line 12: added args '--network host'"
    notes: list[str] = field(default_factory=list)  # print-only advice for things not edited
    already: list[str] = field(default_factory=list)  # what was found already in place


def newline_of(text: str) -> str:
    """The file's dominant line ending, so inserted lines match their neighbours (CRLF stays CRLF)."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    return "\r\n" if crlf > lf else "\n"


class Lines:
    """Offset ↔ line lookups over a text whose line endings may be LF or CRLF."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def start_of_line(self, line: int) -> int:
        return self.starts[line - 1]

    def end_of_line(self, line: int) -> int:
        """Offset of the line's terminator (before \\r\\n or \\n), or the end of the text."""
        if line < len(self.starts):
            end = self.starts[line] - 1
            return end - 1 if end > 0 and self.text[end - 1] == "\r" else end
        return len(self.text)

    def line_text(self, line: int) -> str:
        return self.text[self.start_of_line(line) : self.end_of_line(line)]

    def indent_of(self, line: int) -> str:
        body = self.line_text(line)
        return body[: len(body) - len(body.lstrip(" \t"))]

    def only_whitespace_before(self, offset: int) -> bool:
        start = self.start_of_line(self.line_of(offset))
        return self.text[start:offset].strip() == ""

    def only_whitespace_after(self, offset: int) -> bool:
        """True when nothing but blanks (or a // comment) follows `offset` on its line."""
        line = self.line_of(offset)
        rest = self.text[offset : self.end_of_line(line)].strip()
        return rest == "" or rest.startswith("//")


def indent_unit(text: str) -> str:
    """The file's indentation step: the most common increase between consecutive code lines (two spaces by default)."""
    from collections import Counter

    steps: Counter[str] = Counter()
    previous = ""
    for raw in text.splitlines():
        body = raw.lstrip(" \t")
        if not body or body.startswith(("*", "#", "//")):
            continue  # block-comment continuations and comments do not follow the code's indentation
        indent = raw[: len(raw) - len(body)]
        if indent.startswith(previous) and len(indent) > len(previous):
            steps[indent[len(previous):]] += 1
        previous = indent
    if not steps:
        return "  "
    step = steps.most_common(1)[0][0]
    return step if (step.strip(" ") == "" and len(step) <= 8) or step == "\t" else "  "


class Splicer:
    """Collects non-overlapping replacements by offset and applies them in one pass."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.edits: list[tuple[int, int, str]] = []

    def replace(self, start: int, end: int, new: str) -> None:
        for s, e, _ in self.edits:
            if start < e and s < end:
                raise EditRefused(0, "two edits overlap (a bug in the editor); nothing was written")
        self.edits.append((start, end, new))

    def insert(self, offset: int, new: str) -> None:
        self.edits.append((offset, offset, new))

    def apply(self) -> str:
        out = self.text
        # Stable for equal offsets: later-registered inserts at the same point land after earlier ones.
        order = sorted(range(len(self.edits)), key=lambda i: (self.edits[i][0], self.edits[i][1], i), reverse=True)
        for i in order:
            start, end, new = self.edits[i]
            out = out[:start] + new + out[end:]
        return out
