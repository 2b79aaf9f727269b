"""Helpers shared by the CI-native renderers (JUnit, Warnings NG, SARIF, Markdown): clean text, locations, fixes.

Everything here reads the model only; no renderer learns about a particular check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from earthly_doctor.model import Finding, Report, Status
from earthly_doctor.sanitize import clean

# Keys under which a finding may name the file it points into (a Jenkinsfile, a saved log).
FILE_KEYS = ("file", "fileName", "file_name", "path", "log_file", "log")
# The extras that identify a problem across builds; ports, sessions, lines and times change every build.
STABLE_KEYS = ("signature", "stage", "cause", "store")
# Statuses that are a problem worth publishing as an issue or failure.
PROBLEMS = (Status.FAIL, Status.WARN, Status.ERROR)


@dataclass(frozen=True)
class Location:
    file: str | None
    line: int | None
    stage: str | None


def location(finding: Finding) -> Location:
    """Where a finding points, from its extra fields (log triage sets line, stage and maybe a file)."""
    extra = finding.extra
    file = next((str(extra[k]) for k in FILE_KEYS if isinstance(extra.get(k), str) and extra.get(k)), None)
    line = extra.get("line")
    if isinstance(line, str) and line.isdigit():
        line = int(line)
    line = line if isinstance(line, int) and not isinstance(line, bool) and line >= 1 else None
    stage = extra.get("stage")
    return Location(file, line, str(stage) if stage else None)


def where(finding: Finding) -> str:
    """'build.log line 42, stage Image', or '' when the finding has no place."""
    loc = location(finding)
    parts = []
    if loc.file or loc.line:
        parts.append(" ".join(p for p in (loc.file, f"line {loc.line}" if loc.line else None) if p))
    if loc.stage:
        parts.append(f"stage {loc.stage}")
    return ", ".join(parts)


def extra_fields(finding: Finding) -> dict[str, Any]:
    """The finding's extra fields that renderers show (signature, port, session…), minus any file key."""
    return {k: v for k, v in finding.extra.items() if k not in FILE_KEYS and v not in (None, "")}


def fix_ids(finding: Finding, report: Report) -> list[str]:
    """The remedies the report offers with this finding (decided by the report model, rendered here)."""
    return report.remedies_for(finding)


def fixes(finding: Finding, report: Report) -> list[tuple[str, str, str]]:
    """(id, title, how) for each remedy, best first."""
    from earthly_doctor.remedy_catalog import describe

    result = []
    for rid in fix_ids(finding, report):
        info = describe(rid)
        result.append((rid, info.title, info.how))
    return result


def fingerprint(finding: Finding) -> str:
    """Stable across builds for the same problem: code, status, file and identifying extras (no line, no port)."""
    loc = location(finding)
    stable = {k: finding.extra[k] for k in STABLE_KEYS if finding.extra.get(k) not in (None, "")}
    key = json.dumps([finding.code, finding.status.value, loc.file, stable], sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def detail_lines(finding: Finding, report: Report, *, with_fix: bool = True) -> list[str]:
    """The plain-text body shared by JUnit failures and Warnings NG/SARIF descriptions."""
    lines = [clean(finding.summary)] if finding.summary else []
    place = where(finding)
    if place:
        lines.append(f"at {clean(place)}")
    for key, value in extra_fields(finding).items():
        if key not in ("line", "stage"):
            lines.append(f"{key} = {clean(value, 500)}")
    if finding.evidence:
        lines.append("evidence:")
        lines.extend(f"  {clean(e.fact)} = {clean(e.value, 500)}  [{clean(e.source)}]" for e in finding.evidence)
    if with_fix:
        found = fixes(finding, report)
        if found:
            lines.append("fix (best first):")
            for rank, (rid, title, how) in enumerate(found, 1):
                lines.append(f"  {rank}. {clean(title)} [{rid}]" + (f": {clean(how)}" if how else ""))
    return lines


def verdict_lines(report: Report) -> list[str]:
    v = report.verdict
    lines = [f"verdict: {v.cause} ({v.confidence.value})", clean(v.summary)]
    lines.extend(f"because {clean(step)}" for step in v.chain)
    if v.remedies:
        lines.append("remedies (best first): " + ", ".join(v.remedies))
    return lines


def unique_names(names: list[str]) -> list[str]:
    """Suffix repeats with ' #2', ' #3'… so every test case or result stays addressable."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out
