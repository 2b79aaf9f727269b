"""The one sanitiser: every string that came from a log or a server passes here before any renderer.

Logs, Jenkins answers (stage, node and agent names, job classes) and workspace files are written by whoever
controls the build. Printed raw, they could set the terminal's title (OSC), clear the screen, move the cursor
(CSI), ring the bell, erase what was printed before them (BS, CR), reorder what the reader sees (bidi overrides,
"Trojan Source") or break an XML or JSON reader (lone surrogates, U+FFFE). `clean` removes all of that:

- Jenkins console notes (`ESC[8mha:…ESC[0m`) and every escape sequence: CSI, OSC, DCS/SOS/PM/APC strings, the
  two-byte ESC forms, and their 8-bit C1 spellings;
- C0 controls but TAB and (in multi-line text) LF; a CR becomes a line break, DEL and C1 controls go;
- bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), U+FFFE/U+FFFF, and lone surrogates
  (which become U+FFFD).

`sanitize_report` applies it, with redaction, to every string in a report; each renderer then escapes for its
format (`escape_markdown` here; XML and JSON escaping belong to their writers).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

from earthly_doctor.model import Evidence, Finding, Report

_CONSOLE_NOTE = re.compile(r"\x1b\[8mha:[A-Za-z0-9+/=]*\x1b\[0m")
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI (cursor moves, clear screen, colours), cut short or not
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC (window title, hyperlinks, clipboard) to BEL or ST
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # every other ESC sequence, and a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # the same, spelled with C1 controls
    r"|\x9d[^\x07\x9c]*(?:\x07|\x9c)?"
    r"|[\x90\x98\x9e\x9f][^\x9c]*\x9c?"
)
# What is left to remove once the sequences are gone (TAB, LF and CR are handled on their own).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MARK = "_earthly_doctor_sanitized"  # set on a report sanitize_report made, so renderers can call it again
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def clean(value: Any, limit: int | None = None, *, multiline: bool = True) -> str:
    """Text safe for a terminal, XML, JSON and plugin UIs; capped at `limit` characters when given.
    Single-line text (`multiline=False`) shows a line break as `\\n`, so a value cannot forge a line of its own."""
    if isinstance(value, str):
        text = value
    else:
        import json

        text = json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
    if not text.isprintable() or "\x1b" in text:  # the common case (plain text) costs one C-level scan
        text = _ESCAPES.sub("", _CONSOLE_NOTE.sub("", text))
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _SURROGATE.sub("\ufffd", _UNSAFE.sub("", text))
        if not multiline:
            text = text.replace("\n", "\\n")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def clean_data(value: Any, text: Callable[[str], str] | None = None) -> Any:
    """Parsed JSON (or any dicts, lists and tuples of strings) with every string and key through `text`
    (single-line `clean` when not given); other values as they are."""
    fix = text or (lambda s: clean(s, multiline=False))
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, dict):
        return {fix(k) if isinstance(k, str) else k: clean_data(v, fix) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clean_data(v, fix) for v in value)
    return value


def escape_markdown(text: str) -> str:
    """Log text inside Markdown: no emphasis, link, code span, table cell or HTML tag can open from it."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)


class Sanitiser:
    """Redaction and cleaning with a memory: each distinct string is redacted once. A report repeats its strings (a
    title, a node, a key per finding; 13 000 strings, 1 000 distinct for 200 Jenkins builds) and this redactor
    learns nothing, so what a string becomes depends on the string alone: a command may pass strings through
    while it waits on the network, and the report rendered at the end finds them done."""

    def __init__(self) -> None:
        from earthly_doctor.redact import Redactor

        self._redactor = Redactor()
        self._done: dict[tuple[str, bool], str] = {}

    def text(self, value: str, *, multiline: bool = False) -> str:
        key = (value, multiline)
        done = self._done.get(key)
        if done is None:
            done = self._done[key] = clean(self._redactor.text(value, "report"), multiline=multiline)
        return done

    def deep(self, value: Any) -> Any:
        return clean_data(value, self.text)

    def finding(self, f: Finding) -> Finding:
        text, deep = self.text, self.deep
        return dataclasses.replace(
            f, code=text(f.code), title=text(f.title), summary=text(f.summary), category=text(f.category),
            evidence=[Evidence(text(e.fact), deep(e.value), text(e.source)) for e in f.evidence],
            remedies=[text(r) for r in f.remedies], extra=deep(f.extra),
            detail=text(f.detail, multiline=True) if f.detail is not None else None)

    def report(self, report: Report) -> Report:
        """A copy of `report` whose every string is redacted and cleaned, marked so renderers do not do it again."""
        if getattr(report, _MARK, False):
            return report
        text, deep = self.text, self.deep
        findings = [self.finding(f) for f in report.findings]
        v = report.verdict
        verdict = dataclasses.replace(v, cause=text(v.cause), summary=text(v.summary),
                                      remedies=[text(r) for r in v.remedies], chain=[text(c) for c in v.chain])
        done = dataclasses.replace(report, findings=findings, verdict=verdict, tool_version=text(report.tool_version),
                                   command=text(report.command), warnings=[text(w) for w in report.warnings],
                                   extra=deep(report.extra))
        setattr(done, _MARK, True)
        return done


def sanitize_report(report: Report) -> Report:
    """A copy of `report` whose every string is redacted and cleaned (idempotent; renderers call it first)."""
    return Sanitiser().report(report)
