"""`diagnose`: load the checks, run them under one deadline, decide the verdict."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from dataclasses import dataclass, field
from typing import Any

from earthly_doctor import __version__
from earthly_doctor.checks.ed101_container import Container
from earthly_doctor.checks.ed103_network_mode import NetworkMode
from earthly_doctor.context import Context
from earthly_doctor.errors import UsageError
from earthly_doctor.model import Finding, Report
from earthly_doctor.plugins import load_checks, select
from earthly_doctor.runner import run_checks
from earthly_doctor.verdict import decide


@dataclass
class DiagnoseRequest:
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    extra_findings: list[Finding] = field(default_factory=list)  # e.g. from `--log` triage


def diagnose(ctx: Context, request: DiagnoseRequest, checks: list[Any] | None = None) -> Report:
    warnings: list[str] = []
    if checks is None:
        if not request.only:
            ctx.prefetch("docker")  # a full run always asks; loading the checks meanwhile costs it nothing
        loaded = load_checks()
        checks, warnings = loaded.items, list(loaded.warnings)
    chosen, unknown = select(checks, request.only, request.skip)
    if unknown:
        raise UsageError(f"unknown check code or category: {', '.join(unknown)} (see `earthly-doctor checks`)")
    began = time.monotonic()
    findings = run_checks(ctx, chosen) + list(request.extra_findings)
    report = Report(
        findings=findings,
        # Checks may declare causes of their own (plugins too): the engine weighs them with the built-in rules.
        verdict=decide(findings, [rule for check in chosen for rule in getattr(check, "rules", ())]),
        tool_version=__version__,
        command="diagnose",
        duration_ms=int((time.monotonic() - began) * 1000),
        warnings=warnings,
    )
    report.extra["subject"] = subject(ctx, findings)
    report.extra["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return report


def subject(ctx: Context, findings: list[Finding]) -> dict[str, str | None]:
    """Who this report speaks for, so many agents' reports can be folded into one table (`merge`)."""
    mode, ident = NetworkMode.among(findings), Container.among(findings)
    agent = mode.subject if mode is not None else None
    if agent is None and ident is not None and ident.containerized:
        agent = f"container {str(ident.container_id or '?')[:12]}"
    return {
        "host": socket.gethostname(),
        "node": ctx.env.env.get("NODE_NAME") or None,  # Jenkins sets NODE_NAME in every step's environment
        "agent": agent,
    }
