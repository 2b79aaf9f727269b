"""SARIF 2.1.0: one run, one rule per check code, one result per finding.

Level and kind follow the spec's pairing (a level other than `none` only with kind `fail`): fail → error (or
warning for a low-severity failure), warn → warning, pass → kind `pass`, skip → kind `notApplicable`, error →
kind `review` plus a tool execution notification. A finding that names a file gets a physical location, with its
line as the region.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from urllib.parse import quote

from earthly_doctor.model import Finding, Report, Severity, Status
from earthly_doctor.reports._native import detail_lines, fingerprint, fix_ids, location, verdict_lines
from earthly_doctor.sanitize import clean

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

_KIND = {
    Status.PASS: "pass",
    Status.SKIP: "notApplicable",
    Status.ERROR: "review",
    Status.FAIL: "fail",
    Status.WARN: "fail",
}


def _level(finding: Finding) -> str:
    if finding.status == Status.FAIL:
        return "warning" if finding.severity in (Severity.LOW, Severity.INFO) else "error"
    if finding.status == Status.WARN:
        return "warning"
    return "none"


def _uri(file: str) -> str:
    """A URI reference: absolute paths become file:// URIs, relative ones stay relative (to the workspace)."""
    path = file.replace("\\", "/")
    if PurePosixPath(path).is_absolute():
        return "file://" + quote(path)
    return quote(path)


def _rule(finding: Finding) -> dict[str, object]:
    title = clean(finding.title or finding.code)
    rule: dict[str, object] = {"id": finding.code, "name": title, "shortDescription": {"text": title}}
    if finding.category:
        rule["properties"] = {"category": finding.category}
    return rule


def _result(finding: Finding, rule_index: int, report: Report) -> dict[str, object]:
    text = "\n".join(detail_lines(finding, report)) or clean(finding.title)
    result: dict[str, object] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "kind": _KIND[finding.status],
        "level": _level(finding),
        "message": {"text": text},
        "partialFingerprints": {"earthlyDoctor/v1": fingerprint(finding)},
        "properties": {
            "status": finding.status.value,
            "severity": finding.severity.value,
            "remedies": fix_ids(finding, report) if finding.remedies else [],
            "durationMs": int(finding.duration_ms),
            **{k: v for k, v in finding.extra.items() if v is not None},
        },
    }
    where = location(finding)
    if where.file:
        physical: dict[str, object] = {"artifactLocation": {"uri": _uri(where.file)}}
        if where.line:
            physical["region"] = {"startLine": where.line}
        result["locations"] = [{"physicalLocation": physical}]
    elif where.stage:
        result["locations"] = [{"logicalLocations": [{"name": where.stage, "kind": "module"}]}]
    return result


def render(report: Report, **_: object) -> str:
    rules: list[dict[str, object]] = []
    index: dict[str, int] = {}
    results = []
    for finding in report.findings:
        if finding.code not in index:
            index[finding.code] = len(rules)
            rules.append(_rule(finding))
        results.append(_result(finding, index[finding.code], report))
    notifications = [
        {"level": "warning", "message": {"text": clean(f"{f.code}: {f.summary}")}, "descriptor": {"id": f.code}}
        for f in report.findings
        if f.status == Status.ERROR
    ] + [{"level": "warning", "message": {"text": clean(w)}} for w in report.warnings]
    v = report.verdict
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "earthly-doctor",
                        "version": report.tool_version,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {"executionSuccessful": True, "toolExecutionNotifications": notifications}
                ],
                "automationDetails": {"id": f"earthly-doctor/{report.command}/"},
                "results": results,
                "properties": {
                    "verdict": {
                        "cause": v.cause,
                        "confidence": v.confidence.value,
                        "summary": clean(v.summary),
                        "remedies": list(v.remedies),
                        "chain": [clean(c) for c in v.chain],
                    },
                    "summary": "\n".join(verdict_lines(report)),
                },
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False, default=str) + "\n"
