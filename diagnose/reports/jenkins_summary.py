"""The Jenkins triage summary as plain lines: signature × builds × nodes × labels × versions × first/last seen.

It renders `report.extra["summary"]` (and `["jenkins"]`), which only `jenkins triage` sets; the text report
appends these lines after the findings. No ANSI, no box drawing: it reads the same in a CI log and a terminal.
"""

from __future__ import annotations

from typing import Any

from earthly_doctor.model import Report

COLUMNS = (("SIGNATURE", 26), ("FAILED", 6), ("GREEN", 5), ("NODES", 22), ("LABELS", 18), ("EARTHLY", 14),
           ("FIRST SEEN", 26), ("LAST SEEN", 26))


def _counts(counts: dict[str, int], limit: int = 3) -> str:
    items = list(counts.items())
    text = ", ".join(f"{k} ({v})" for k, v in items[:limit])
    return text + (f", +{len(items) - limit}" if len(items) > limit else "")


def _seen(seen: dict[str, Any] | None) -> str:
    if not seen:
        return "-"
    return f"#{seen.get('build')} {seen.get('timestamp') or ''}".strip()


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_lines(report: Report) -> list[str]:
    summary = report.extra.get("summary")
    if not isinstance(summary, dict):
        return []
    out: list[str] = [""]
    server = report.extra.get("jenkins") or {}
    if server:
        out.append(f"Jenkins {server.get('version', '?')} at {server.get('url', '?')} as {server.get('user', '?')}, "
                   f"job {server.get('job', '?')}")
    if summary.get("builds", 0) <= 1:  # one build: its finding says it all
        return out
    mb = summary.get("bytes_read", 0) / 1e6
    out.append(f"Builds read: {summary['builds']} ({summary['failed']} failed, {summary['green']} green, "
               f"{summary['running']} running, {summary['errors']} unreadable); {mb:.1f} MB of log read")
    rows = summary.get("signatures") or []
    if not rows:
        out.append("No known failure signature in any build.")
    else:
        out.append("  ".join(f"{name:<{width}}" for name, width in COLUMNS).rstrip())
        for row in rows:
            name = row["signature"] + (" *" if row.get("red_herring") else "")
            cells = (name, str(row["failed_builds"]), str(row["green_builds"]), _counts(row["nodes"]),
                     _counts(row["labels"]), _counts(row["earthly_versions"], 2), _seen(row["first_seen"]),
                     _seen(row["last_seen"]))
            out.append("  ".join(f"{_cell(c, w):<{w}}" for c, (_, w) in zip(cells, COLUMNS, strict=True)).rstrip())
        if any(row.get("red_herring") for row in rows):
            out.append("* red herring: also seen in green builds, so it is not what failed the others")
    unexplained = summary.get("unexplained_builds") or []
    if unexplained:
        shown = ", ".join(f"#{n}" for n in unexplained[:20]) + (" …" if len(unexplained) > 20 else "")
        out.append(f"Failed builds without a known cause: {shown}")
    return out
