"""SARIF 2.1.0 as GitHub code scanning reads it: one run, one rule per reported check code, one result per problem.

GitHub ignores `kind` (a pass result would become an alert) and shows only results with a location, so only
failing and warning findings are results: fail → level error (warning for a low-severity failure), warn → warning.
A check that could not run is a tool execution notification; passes and skips are only counted in the run's
properties. Every rule carries `fullDescription` and `help` (the fix, best first). Every result has a physical
location, relative to the repository (`uriBaseId` %SRCROOT%): the file a finding names (a saved log, with its line),
or else the Jenkinsfile, where each remedy is applied. Sources: research/jenkins.md ("GitHub code scanning").
"""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath
from urllib.parse import quote

from earthly_doctor.model import Finding, Report, Severity, Status
from earthly_doctor.reports._native import detail_lines, fingerprint, fix_ids, fixes, location, verdict_lines
from earthly_doctor.sanitize import clean

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
# Where a finding of the live environment is fixed: the pipeline's definition at the repository root.
DEFAULT_ARTIFACT = "Jenkinsfile"
REPORTED = (Status.FAIL, Status.WARN)


def _level(finding: Finding) -> str:
    if finding.status == Status.FAIL:
        return "warning" if finding.severity in (Severity.LOW, Severity.INFO) else "error"
    return "warning"


def _uri(path: str) -> str:
    """A relative URI reference; the bytes of a path that was not UTF-8 (surrogate escapes) are percent-encoded."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def _repo_relative(file: str, root: str) -> str | None:
    """The file relative to the repository root (the working directory), or None when it lies outside."""
    path = file.replace("\\", "/")
    if not PurePosixPath(path).is_absolute():
        parts = [p for p in PurePosixPath(path).parts if p not in (".", "")]
        return None if ".." in parts or not parts else "/".join(parts)
    try:
        rel = PurePosixPath(path).relative_to(PurePosixPath(root))
    except ValueError:
        return None
    return str(rel) if str(rel) != "." else None


def _location(finding: Finding, root: str) -> dict[str, object]:
    where = location(finding)
    rel = _repo_relative(where.file, root) if where.file else None
    physical: dict[str, object] = {"artifactLocation": {"uri": _uri(rel or DEFAULT_ARTIFACT), "uriBaseId": SRCROOT}}
    physical["region"] = {"startLine": where.line if rel and where.line else 1}
    loc: dict[str, object] = {"physicalLocation": physical}
    if where.stage:
        loc["logicalLocations"] = [{"name": clean(where.stage), "kind": "module"}]
    return loc


def _help(finding: Finding, report: Report) -> tuple[str, str]:
    """The fix, best first, as text and Markdown (GitHub shows help.markdown when there is one)."""
    found = fixes(finding, report)
    if not found:
        none = "No automatic fix: see the evidence in the result and `earthly-doctor explain " + finding.code + "`."
        return none, none
    text = ["How to fix (best first):"]
    markdown = ["**How to fix** (best first):", ""]
    for rank, (rid, title, how) in enumerate(found, 1):
        text.append(f"{rank}. {clean(title)} [{rid}]" + (f": {clean(how)}" if how else ""))
        markdown.append(f"{rank}. **{clean(title)}** (`{rid}`)" + (f": {clean(how)}" if how else ""))
    markdown += ["", f"Preview the edit with `earthly-doctor fix --remedy {found[0][0]}`; add `--apply` to write it."]
    return "\n".join(text), "\n".join(markdown)


def _rule(finding: Finding, report: Report) -> dict[str, object]:
    title = clean(finding.title or finding.code)
    text, markdown = _help(finding, report)
    full = f"{title}. {clean(finding.summary)}" if finding.summary else title
    rule: dict[str, object] = {
        "id": finding.code,
        "name": finding.code,
        "shortDescription": {"text": title},
        "fullDescription": {"text": full},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": _level(finding)},
        "properties": {"tags": list(dict.fromkeys(["earthly", "jenkins", finding.category or report.command]))},
    }
    return rule


def _result(finding: Finding, rule_index: int, report: Report, root: str) -> dict[str, object]:
    text = "\n".join(detail_lines(finding, report)) or clean(finding.title)
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": _level(finding),
        "message": {"text": text},
        "locations": [_location(finding, root)],
        "partialFingerprints": {"earthlyDoctor/v1": fingerprint(finding)},
        "properties": {
            "status": finding.status.value,
            "severity": finding.severity.value,
            "remedies": fix_ids(finding, report) if finding.remedies else [],
            "durationMs": int(finding.duration_ms),
            **{k: clean(v) if isinstance(v, str) else v for k, v in finding.extra.items() if v is not None},
        },
    }


def render(report: Report, **_: object) -> str:
    root = os.getcwd()
    rules: list[dict[str, object]] = []
    index: dict[str, int] = {}
    results = []
    for finding in report.findings:
        if finding.status not in REPORTED:
            continue
        if finding.code not in index:
            index[finding.code] = len(rules)
            rules.append(_rule(finding, report))
        results.append(_result(finding, index[finding.code], report, root))
    notifications = [
        {"level": "warning", "message": {"text": clean(f"{f.code}: {f.summary}")}, "descriptor": {"id": f.code}}
        for f in report.findings
        if f.status == Status.ERROR
    ] + [{"level": "warning", "message": {"text": clean(w)}} for w in report.warnings]
    counts = {s.value: sum(1 for f in report.findings if f.status == s) for s in Status}
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
                    "checks": counts,
                },
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False, default=str) + "\n"
