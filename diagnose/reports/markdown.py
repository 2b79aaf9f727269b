"""A short Markdown summary: the verdict, what to do, and the problems, for a build description or a PR comment.

Short on purpose: passing checks are only counted, and each cell is one line (pipes escaped, text capped).
"""

from __future__ import annotations

from earthly_doctor.model import Report, Status
from earthly_doctor.reports._native import PROBLEMS, fixes, where
from earthly_doctor.sanitize import clean, escape_markdown

CELL_LIMIT = 200
_LABEL = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP", "error": "ERROR"}


def _cell(value: object) -> str:
    """One table cell: whitespace folded, Markdown and HTML escaped (a pipe would end the cell)."""
    return escape_markdown(" ".join(clean(value, CELL_LIMIT).split())) or " "


def _inline(value: object) -> str:
    """One line of running text: whitespace folded, Markdown and HTML escaped so log text opens nothing."""
    return escape_markdown(" ".join(clean(value, 2 * CELL_LIMIT).split()))


def render(report: Report, **_: object) -> str:
    v = report.verdict
    healthy = v.cause in ("healthy", "no-known-failure")
    mark = "OK" if healthy else "PROBLEM" if v.confidence.value in ("proven", "likely") else "UNSURE"
    out = [
        f"**earthly-doctor {report.command}: {mark}**: `{v.cause}` ({v.confidence.value})",
        "",
        _inline(v.summary),
    ]
    remedies = []
    if v.remedies:
        from earthly_doctor.remedy_catalog import describe

        for rank, rid in enumerate(v.remedies, 1):
            info = describe(rid)
            how = f": {_inline(info.how)}" if info.how else ""
            remedies.append(f"{rank}. **{_inline(info.title)}** (`{rid}`){how}")
    if remedies:
        out += ["", "**What to do (best first):**", "", *remedies]
    problems = [f for f in report.findings if f.status in PROBLEMS]
    if problems:
        out += ["", "| Status | Code | Check | Finding |", "|---|---|---|---|"]
        for f in problems:
            place = where(f)
            finding = f.summary + (f" ({place})" if place else "")
            own = [rid for rid, _, _ in fixes(f, report) if rid not in v.remedies]
            if own:
                finding += f" (fix: {', '.join(own)})"
            out.append(f"| {_LABEL[f.status.value]} | {_cell(f.code)} | {_cell(f.title)} | {_cell(finding)} |")
    counts = {s: sum(1 for f in report.findings if f.status == s) for s in Status}
    tally = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "no checks"
    version = clean(report.tool_version)
    out += ["", f"_{len(report.findings)} checks: {tally}; earthly-doctor {version}, {report.duration_ms} ms._"]
    for w in report.warnings:
        out.append(f"_warning: {_cell(w)}_")
    return "\n".join(out) + "\n"
