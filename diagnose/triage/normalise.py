"""Turn one raw Jenkins/Earthly log line into the text a person would read (research/jenkins.md §4.8).

Order matters: ConsoleNotes first (their Base64 would otherwise survive ANSI stripping), then the Timestamper
prefix (remembered as the line's time), then ANSI CSI/OSC sequences, then the orphaned `[K`/`[0m` remnants that
copy-pasted consoles leave behind. Every pattern here is linear: no nested or unbounded-then-literal repeats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The one home of the console escape patterns (the report renderers use them too).
# `ESC[8m` "ha:" Base64 `ESC[0m`; a note cut off by a corrupt log still loses its payload.
CONSOLE_NOTE = re.compile(r"\x1b\[8mha:[A-Za-z0-9+/=]*+(?:\x1b\[0m)?")
# Jenkins Timestamper: exactly 27 characters, UTC, always ending in Z (jenkins.md §4.2).
_STAMP = re.compile(r"\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\] ")
STAMP_BYTES = re.compile(rb"\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\] ")
# Text copied from the HTML console shows the Timestamper time rendered as `23:20:55  `, or as elapsed time
# `00:04:25.492 ` (openj9#3927); Earthly's right-aligned prefixes may follow, so any further spaces stay.
# GitHub Actions raw logs (the API download) start every line with `2021-04-01T21:00:44.3683086Z `.
_GHA_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z) ")
_LOCAL_STAMP = re.compile(r"(\d{2}:\d{2}:\d{2}(?= {2})|\d{2}:\d{2}:\d{2}\.\d{3}(?= )) {1,2}")
# A log read from an offset (progressiveText) can start inside a note: its Base64 tail and the closing ESC[0m.
_NOTE_TAIL = re.compile(r"[A-Za-z0-9+/=]{8,}+\x1b\[0m")
# CSI, OSC (terminated or cut off) and single-character escapes (research/jenkins.md §4.5).
ANSI = re.compile(r"\x1b\[[0-?]*+[ -/]*+[@-~]|\x1b\][^\x07\x1b]*+(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
# ESC already lost (text copied from the HTML console): digits/semicolons and a final m or K only, so
# `[Pipeline]` and timestamps survive.
_REMNANT = re.compile(r"\[(?:\d{1,3}(?:;\d{1,3}){0,8})?[mK]")
_PIPELINE = "[Pipeline] "
RUNNING_ON = re.compile(r"^Running on (?P<node>\S{1,200}) in ")
MAX_STAGE_DEPTH = 64


def decode(raw: bytes) -> str:
    """Jenkins Pipeline logs are UTF-8; anything else must not stop the scan."""
    return raw.decode("utf-8", errors="replace")


def timestamp_of(raw_line_start: bytes) -> str | None:
    """The Timestamper time of a physical line, from its first 27 bytes."""
    m = STAMP_BYTES.match(raw_line_start, 0, 27)
    return m.group(1).decode("ascii") if m else None


def clean(text: str, *, at_line_start: bool = True) -> tuple[str, str | None]:
    """(readable text, Timestamper time or None) for one segment of a line (no `\\n` or `\\r` inside)."""
    if "\x1b" in text:
        text = CONSOLE_NOTE.sub("", text)
        if at_line_start:
            m = _NOTE_TAIL.match(text)
            text = text[m.end() :] if m else text
    stamp = None
    if at_line_start and text.startswith("[") and len(text) >= 27:
        m = _STAMP.match(text)
        if m:
            stamp, text = m.group(1), text[27:]
    elif at_line_start and text[:1].isdigit():
        m = _GHA_STAMP.match(text) or _LOCAL_STAMP.match(text)
        if m:
            stamp, text = m.group(1), text[m.end() :]
    if "\x1b" in text:
        text = ANSI.sub("", text)
    if "[" in text:
        text = _REMNANT.sub("", text)
    return text, stamp


def visible_line(raw: bytes | str) -> tuple[str, str | None]:
    """What a terminal shows for one physical line: drop CR/LF at the end, keep the text after the last `\\r`."""
    text = decode(raw) if isinstance(raw, (bytes, bytearray)) else raw
    text = text.rstrip("\r\n")
    stamp = None
    m = _STAMP.match(text)
    if m:
        stamp = m.group(1)
    cut = text.rfind("\r")
    if cut >= 0:
        body, _ = clean(text[cut + 1 :], at_line_start=False)
        return body, stamp
    body, _ = clean(text)
    return body, stamp


# `[Pipeline] [branch] step`: parallel branches before the JEP-210 log rewrite named their branch on every line.
_OLD_BRANCH = re.compile(r"\[(?P<b>[^\]]{1,200})\] (?P<step>.*)")
_BRANCH_BLOCK = "(Branch: "


def _block_name(step: str) -> tuple[str | None, bool]:
    """(label, is a parallel branch) of a `{ (Label)` step; a branch's label is its name without `Branch: `."""
    rest = step[1:].strip()
    name = rest[1:-1].strip() if rest.startswith("(") and rest.endswith(")") else None
    if name and name.startswith(_BRANCH_BLOCK[1:]):
        return name[len(_BRANCH_BLOCK) - 1 :].strip()[:200] or None, True
    return (name[:200] if name else None), False


# The `[Pipeline]` lines that change the stage or node; every other step line (`{`, `}`, `sh`, `echo`, …) leaves
# them alone, so the scanner looks for these and never handles the rest (RUNNING_ON's text is the last one).
STRUCTURAL_MARKERS = ("[Pipeline] { (", "[Pipeline] // stage", "[Pipeline] parallel", "[Pipeline] // parallel",
                      "[Pipeline] // node", "[Pipeline] [", "Running on ")


@dataclass
class PipelineState:
    """The current stage and node, tracked from the rare lines that change them (STRUCTURAL_MARKERS).

    A stage opens with `[Pipeline] { (Name)` and always ends with `[Pipeline] // stage` (Jenkins prints
    `// STEP` when any block step ends), so anonymous `{`/`}` lines, a third of a busy Pipeline log, need no
    tracking. Parallel branches need more care (jenkins.md §4.3): old Jenkins prefixed every branch line with
    `[branch] `, so such a line gets its own branch's stage; since JEP-210 branch lines interleave without
    attribution, so while two or more branches are open only the enclosing stage is certain, and `stage`
    reports that rather than a guessed branch. Branches end with their `// parallel`.
    """

    stack: list[str | None] = field(default_factory=list)
    # Per entry of `stack`: True for a parallel branch (`{ (Branch: x)`), False for a stage.
    branch_flags: list[bool] = field(default_factory=list)
    node: str | None = None
    # Per old-style branch name: its own stack of block labels.
    branches: dict[str, list[str | None]] = field(default_factory=dict)
    # Per open `parallel` step: [stack depth when it began, branches opened on the shared stack].
    parallels: list[list[int]] = field(default_factory=list)

    @staticmethod
    def _innermost(stack: list[str | None]) -> str | None:
        for name in reversed(stack):
            if name is not None:
                return name
        return None

    @property
    def stage(self) -> str | None:
        for base, opened in self.parallels:
            if opened >= 2:
                return self._innermost(self.stack[:base])
        return self._innermost(self.stack)

    def branch_of(self, text: str) -> str | None:
        """The old-style branch a line belongs to (`[Base image] …`), when that branch is open."""
        if self.branches and text.startswith("["):
            m = _OLD_BRANCH.match(text)
            if m and m.group("b") in self.branches:
                return m.group("b")
        return None

    def stage_for(self, text: str) -> str | None:
        """The stage of one cleaned line: its old-style branch's innermost stage, else `stage`."""
        branch = self.branch_of(text)
        if branch is not None:
            return self._innermost(self.branches[branch]) or branch
        return self.stage

    def _truncate(self, depth: int) -> None:
        del self.stack[depth:], self.branch_flags[depth:]
        while self.parallels and depth < self.parallels[-1][0]:
            self.parallels.pop()

    @staticmethod
    def may_change(text: str) -> bool:
        """Whether this line of pipeline metadata can change any state (a part of a split scan records only these:
        an old-style branch's `sh`, `echo`, … lines, every other line of such a log, never do)."""
        if not text.startswith(_PIPELINE):
            return RUNNING_ON.match(text) is not None
        step = text[len(_PIPELINE) :].strip()
        old = _OLD_BRANCH.match(step) if step.startswith("[") else None
        if old is not None:
            step = old.group("step").strip()
            return step.startswith("{") or step == "}"
        return step.startswith("{") or step in ("// stage", "parallel", "// parallel", "// node")

    def observe(self, text: str) -> bool:
        """Update from one cleaned line; True when the line was pipeline metadata."""
        if not text.startswith(_PIPELINE):
            m = RUNNING_ON.match(text)
            if m:
                self.node = m.group("node")
                return True
            return False
        step = text[len(_PIPELINE) :].strip()
        old = _OLD_BRANCH.match(step) if step.startswith("[") else None
        if old is not None:
            self._observe_old_branch(old.group("b"), old.group("step").strip())
        elif step.startswith("{"):
            name, is_branch = _block_name(step)
            if name is not None and len(self.stack) < MAX_STAGE_DEPTH:
                self.stack.append(name)
                self.branch_flags.append(is_branch)
                if is_branch and self.parallels:
                    self.parallels[-1][1] += 1
        elif step == "// stage":
            # The innermost stage ends, with any branch opened above it (their `}` lines are not tracked).
            for depth in range(len(self.stack) - 1, -1, -1):
                if not self.branch_flags[depth]:
                    self._truncate(depth)
                    break
        elif step == "parallel":
            if len(self.parallels) < MAX_STAGE_DEPTH:
                self.parallels.append([len(self.stack), 0])
        elif step == "// parallel":
            if self.parallels:
                self._truncate(self.parallels[-1][0])
                self.parallels.pop()
        elif step == "// node":
            self.node = None
        return True

    def _observe_old_branch(self, branch: str, step: str) -> None:
        if step.startswith("{"):
            name, is_branch = _block_name(step)
            stack = self.branches.get(branch)
            if stack is None:
                if len(self.branches) >= MAX_STAGE_DEPTH:
                    return
                stack = self.branches[branch] = []
            if len(stack) < MAX_STAGE_DEPTH:
                stack.append(None if is_branch else name)
        elif step == "}" and branch in self.branches:
            stack = self.branches[branch]
            if stack:
                stack.pop()
            if not stack:
                del self.branches[branch]
