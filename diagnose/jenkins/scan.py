"""The seam between Jenkins log reading and the log scanner: bytes in, hits out, nothing held but a line.

`new_scanner()` returns an object with `feed(chunk: bytes)` and `finish() -> list[Hit]`. It wraps the
streaming scanner of `earthly_doctor.triage` when that package is installed, and otherwise falls back to
a minimal scanner for the one signature this command exists for (research/earthly.md §4), so Jenkins triage
works and is testable on its own.

`Sniffer` picks the facts Jenkins does not export for a Pipeline build out of the same bytes: the agent
(`Running on NODE in …`) and the Earthly version (`earthly version vX.Y.Z …`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Hit:
    signature: str
    status: str  # fail | warn (a finding status)
    title: str
    summary: str
    line: int | None = None  # 1-based, in what the scanner was fed
    stage: str | None = None
    timestamp: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # port, session, …
    severity: str = "high"
    remedies: list[str] = field(default_factory=list)
    text: str = ""  # the matched line, normalised
    node: str | None = None  # the agent the scanner saw (`Running on NODE in …`)
    cause: str | None = None  # the verdict cause the signature points at


class Scanner(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> list[Hit]: ...


def new_scanner() -> Scanner:
    try:
        from earthly_doctor.triage.scanner import Scanner as TriageScanner

        return _TriageScanner(TriageScanner())
    except Exception:  # TEMPORARY while earthly_doctor.triage is being written: fall back
        return _FallbackScanner()


class _TriageScanner:
    """`earthly_doctor.triage`'s scanner, its matches turned into Hits (look-alikes and info lines dropped)."""

    def __init__(self, scanner: Any) -> None:
        self.scanner = scanner
        self.matches: list[Any] = []

    def feed(self, chunk: bytes) -> None:
        self.matches.extend(self.scanner.feed(chunk))

    def finish(self) -> list[Hit]:
        self.matches.extend(self.scanner.finish())
        hits = []
        for m in self.matches:
            sig = m.signature
            status = getattr(sig.status, "value", sig.status)
            if status not in ("fail", "warn", "error"):
                continue
            hits.append(Hit(
                signature=sig.id, status=status, title=sig.title, summary=sig.render_summary(m.fields),
                line=m.line, stage=m.stage, timestamp=m.timestamp, values=dict(m.fields),
                severity=getattr(sig.severity, "value", sig.severity), remedies=list(sig.remedies),
                text=m.text[:500], node=m.node, cause=sig.cause,
            ))
        return hits


# ------------------------------------------------------------------------------------------ fallback scanner

MAX_LINE = 16 * 1024
_NOTE = re.compile(r"\x1b\[8mha:[A-Za-z0-9+/=]*\x1b\[0m")
_STAMP = re.compile(r"^\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\] ")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_FIRST = re.compile(r"Error: pull ping error: .*image pull: \d+ errors? occurred:")
_SECOND = re.compile(
    r"command failed: docker pull (?P<addr>127\.0\.0\.1:(?P<port>\d{1,5}))/(?P<ref>sess-(?P<session>[0-9a-z]{25})"
    r"/pullping:img-\d+)\S*: .*dial tcp 127\.0\.0\.1:(?P=port): connect: connection refused"
)
# Only chunks that contain one of these need to be split into lines; the rest are counted and skipped.
_INTERESTING = (b"pull ping", b"connection refused", b"[Pipeline]")


class _FallbackScanner:
    """The Earthly proxy signature across its two lines, with stage tracking from `[Pipeline] { (Name)`."""

    def __init__(self) -> None:
        self.line_no = 0
        self.partial = b""
        self.stages: list[str | None] = []
        self.pending: tuple[int, str | None] | None = None  # (line, timestamp) of a first line awaiting its second
        self.hits: list[Hit] = []

    def feed(self, chunk: bytes) -> None:
        data = self.partial + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self.partial = data[-MAX_LINE:] if len(data) > MAX_LINE else data
            return
        body, self.partial = data[: cut + 1], data[cut + 1 :][-MAX_LINE:]
        if self.pending is None and not any(key in body for key in _INTERESTING):
            self.line_no += body.count(b"\n")
            return
        for raw in body.split(b"\n")[:-1]:
            self.line_no += 1
            self._line(raw)

    def finish(self) -> list[Hit]:
        if self.partial:
            self.line_no += 1
            self._line(self.partial)
            self.partial = b""
        return self.hits

    def _line(self, raw: bytes) -> None:
        text = raw[:MAX_LINE].decode("utf-8", "replace").rstrip("\r").rsplit("\r", 1)[-1]
        text = _NOTE.sub("", text)
        stamp = _STAMP.match(text)
        if stamp:
            text = text[stamp.end():]
        text = _ANSI.sub("", text)
        if text.startswith("[Pipeline] "):
            self._pipeline(text[11:])
            return
        if self.pending is not None:
            first_line, first_stamp = self.pending
            self.pending = None
            match = _SECOND.search(text)
            if match:
                self._hit(first_line, first_stamp, match, text)
                return
        if _FIRST.search(text):
            self.pending = (self.line_no, stamp.group(1) if stamp else None)
        elif "pull ping" not in text:
            match = _SECOND.search(text)
            if match:
                self._hit(self.line_no, stamp.group(1) if stamp else None, match, text)

    def _pipeline(self, rest: str) -> None:
        if rest.startswith("{ (") and rest.endswith(")"):
            self.stages.append(rest[3:-1])
        elif rest == "{":
            self.stages.append(None)
        elif rest == "}" and self.stages:
            self.stages.pop()

    def _hit(self, line: int, stamp: str | None, match: re.Match, text: str) -> None:
        port = int(match.group("port"))
        stage = next((s for s in reversed(self.stages) if s), None)
        self.hits.append(Hit(
            signature="proxy-unreachable",
            status="fail",
            title="Earthly registry proxy unreachable",
            summary=f"the Docker daemon could not reach Earthly's registry proxy on 127.0.0.1:{port} (connection refused)",
            line=line,
            stage=stage,
            timestamp=stamp,
            values={"port": port, "session": match.group("session")},
            remedies=["disable-proxy", "host-network", "pinned-port"],
            text=text[:500],
            cause="proxy-unreachable",
        ))


# ---------------------------------------------------------------------------------------------------- facts

_FACTS = re.compile(rb"Running on (?P<node>[^\s\x1b]+) in |earthly(?:/earthly:| version )v?(?P<version>\d+\.\d+\.\d+)")


class Sniffer:
    """First agent and Earthly version seen in a byte stream; a small overlap covers matches across chunks."""

    def __init__(self) -> None:
        self.node: str | None = None
        self.version: str | None = None
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        if self.node and self.version:
            return
        data = self._tail + chunk
        for match in _FACTS.finditer(data):
            if match.group("node") and not self.node:
                self.node = match.group("node").decode("utf-8", "replace")
            if match.group("version") and not self.version:
                self.version = "v" + match.group("version").decode()
        self._tail = data[-200:]
