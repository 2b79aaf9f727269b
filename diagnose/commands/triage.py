"""`triage`: scan build logs for known failure signatures and decide what they show."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from earthly_doctor import __version__
from earthly_doctor.model import Finding, Report
from earthly_doctor.verdict import decide


@dataclass
class TriageRequest:
    logs: list[str]  # paths; `-` is stdin
    signature_dirs: list[str] = field(default_factory=list)


def triage_findings(logs: list[str], signature_dirs: list[str] | None = None) -> list[Finding]:
    """ED160 findings for each log, in order; a missing or unreadable log is a DoctorError before any scan."""
    from earthly_doctor.triage import Scanner, findings_from_scan, load_signatures
    from earthly_doctor.triage.sources import check_readable, display_name, open_stream

    signatures = load_signatures(signature_dirs or [])
    for path in logs:
        check_readable(path)
    findings: list[Finding] = []
    for path in logs:
        began = time.monotonic()
        scanner = Scanner(signatures)
        with open_stream(path) as stream:
            scanner.feed_stream(stream)
        scanner.finish()
        findings += findings_from_scan(scanner, display_name(path), int((time.monotonic() - began) * 1000))
    return findings


def triage(request: TriageRequest) -> Report:
    began = time.monotonic()
    findings = triage_findings(request.logs, request.signature_dirs)
    return Report(
        findings=findings,
        verdict=decide(findings),
        tool_version=__version__,
        command="triage",
        duration_ms=int((time.monotonic() - began) * 1000),
    )
