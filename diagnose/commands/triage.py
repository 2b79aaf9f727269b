"""`triage`: scan build logs for known failure signatures and decide what they show."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from earthly_doctor import __version__
from earthly_doctor.model import Report
from earthly_doctor.triage.library import triage_findings
from earthly_doctor.verdict import decide


@dataclass
class TriageRequest:
    logs: list[str]  # paths; `-` is stdin
    signature_dirs: list[str] = field(default_factory=list)


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
