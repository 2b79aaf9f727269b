"""Warnings NG native JSON (`recordIssues tool: issues(pattern: '…/issues.json')`), research/jenkins.md §3.2.

A `*.json` file is read by analysis-model's JsonParser: one object whose `issues` array holds issue objects with the
keys `fileName`, `lineStart`, `lineEnd`, `severity` (ERROR|HIGH|NORMAL|LOW), `message`, `description` (sanitised
HTML), `category`, `type`, `packageName`, `moduleName`, `fingerprint`, `additionalProperties`. Only problems are
issues (fail, warn, error); passing and skipped checks are not. `id` is left out: the parser demands a UUID there.
"""

from __future__ import annotations

import html
import json

from earthly_doctor.model import Finding, Report, Severity, Status
from earthly_doctor.reports._native import PROBLEMS, extra_fields, fingerprint, fixes, location, verdict_lines
from earthly_doctor.sanitize import clean

# Warnings NG has four severities; a failure of a high/critical check is what a quality gate's TOTAL_ERROR counts.
_SEVERITY = {
    Status.FAIL: {Severity.CRITICAL: "ERROR", Severity.HIGH: "ERROR", Severity.MEDIUM: "HIGH"},
    Status.WARN: {Severity.CRITICAL: "HIGH", Severity.HIGH: "HIGH", Severity.MEDIUM: "NORMAL"},
}
_DEFAULT = {Status.FAIL: "NORMAL", Status.WARN: "LOW", Status.ERROR: "NORMAL"}
MESSAGE_LIMIT = 500


def severity(finding: Finding) -> str:
    return _SEVERITY.get(finding.status, {}).get(finding.severity, _DEFAULT.get(finding.status, "LOW"))


def _description(finding: Finding, report: Report) -> str:
    parts = []
    where = location(finding)
    if where.stage:
        parts.append(f"<p>Stage <b>{html.escape(where.stage)}</b></p>")
    if finding.evidence:
        items = "".join(
            f"<li><code>{html.escape(clean(e.fact))}</code> = {html.escape(clean(e.value, 500))}"
            f" <i>[{html.escape(clean(e.source))}]</i></li>"
            for e in finding.evidence
        )
        parts.append(f"<p>Evidence:</p><ul>{items}</ul>")
    found = fixes(finding, report)
    if found:
        items = "".join(
            f"<li><b>{html.escape(clean(title))}</b> (<code>{rid}</code>)"
            + (f": {html.escape(clean(how))}" if how else "")
            + "</li>"
            for rid, title, how in found
        )
        parts.append(f"<p>Fix (best first):</p><ol>{items}</ol>")
    if finding.detail and finding.status == Status.ERROR:
        parts.append(f"<pre>{html.escape(clean(finding.detail, 4000))}</pre>")
    if finding.status == Status.FAIL and report.verdict.cause not in ("healthy", "unknown"):
        parts.append("<p>" + "<br>".join(html.escape(line) for line in verdict_lines(report)) + "</p>")
    return "".join(parts)


def issue(finding: Finding, report: Report) -> dict[str, object]:
    where = location(finding)
    data: dict[str, object] = {
        "message": clean(f"{finding.code}: {finding.summary or finding.title}", MESSAGE_LIMIT),
        "description": _description(finding, report),
        "severity": severity(finding),
        "category": finding.category or report.command,
        "type": finding.code,
        "packageName": "earthly-doctor",
        "moduleName": where.stage or report.command,
        "fingerprint": fingerprint(finding),
    }
    if where.file:
        data["fileName"] = where.file
    if where.line:
        data["lineStart"] = where.line
        data["lineEnd"] = where.line
    extras = extra_fields(finding)
    if extras:
        data["additionalProperties"] = clean(extras)
    return data


def render(report: Report, **_: object) -> str:
    issues = [issue(f, report) for f in report.findings if f.status in PROBLEMS]
    return json.dumps({"issues": issues}, indent=2, ensure_ascii=False) + "\n"
