"""Run checks concurrently under one deadline; a check that raises or overruns becomes a finding, never a crash."""

from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import Future
from typing import Any, Iterable

from earthly_doctor.context import GRACE, Context, FactError, FactTimeout
from earthly_doctor.model import Evidence, Finding, Severity, Status

TIMED_OUT = "timed_out"  # the evidence fact the runner adds to a finding cut short by a timeout


def _error_finding(check: Any, summary: str, detail: str | None = None, status: Status = Status.ERROR) -> Finding:
    return Finding(
        code=check.code,
        title=check.title,
        status=status,
        severity=Severity.MEDIUM,
        summary=summary,
        category=getattr(check, "category", ""),
        detail=detail,
    )


def run_one(check: Any, ctx: Context) -> list[Finding]:
    """The check's findings (one, or several for a per-item check such as ED160), each timed."""
    began = time.monotonic()
    try:
        result = check.run(ctx)
        findings = result if isinstance(result, list) else [result]
        if not findings or not all(isinstance(f, Finding) for f in findings):
            findings = [_error_finding(check, f"check returned {type(result).__name__}, not a Finding")]
    except FactTimeout as exc:
        findings = [_error_finding(check, f"timed out waiting for a fact: {exc}")]
        findings[0].evidence.append(Evidence(TIMED_OUT, True, "runner"))
    except FactError as exc:
        findings = [_error_finding(check, f"could not gather what it needs: {exc}")]
    except Exception as exc:  # noqa: BLE001 -- a check bug must not stop the other checks
        findings = [_error_finding(check, f"the check crashed: {type(exc).__name__}: {exc}",
                                   detail=traceback.format_exc())]
    elapsed = int((time.monotonic() - began) * 1000)
    for finding in findings:
        finding.duration_ms = finding.duration_ms or elapsed
    return findings


def run_checks(ctx: Context, checks: Iterable[Any]) -> list[Finding]:
    """All checks start at once (facts are shared and computed once); wait until done or the deadline."""
    # Importing the probes registers the built-in providers; here, so `--version` never pays for it.
    import earthly_doctor.probes.providers  # noqa: F401

    checks = list(checks)
    futures: list[Future[list[Finding]]] = []
    for check in checks:
        future: Future[list[Finding]] = Future()
        futures.append(future)

        def work(check: Any = check, future: Future[list[Finding]] = future) -> None:
            future.set_result(run_one(check, ctx))

        # Daemon threads, so an overrunning check cannot hold the process open after we report.
        threading.Thread(target=work, name=f"check:{check.code}", daemon=True).start()

    findings: list[Finding] = []
    end = ctx.deadline + GRACE  # one bound for all: the grace is not given again to each check in turn
    for check, future in zip(checks, futures, strict=True):
        try:
            findings.extend(future.result(timeout=max(0.0, end - time.monotonic())))
        except TimeoutError:
            finding = _error_finding(
                check,
                f"did not finish within the {ctx.options.timeout:g}s deadline (--timeout)",
            )
            finding.evidence.append(Evidence(TIMED_OUT, True, "runner"))
            finding.duration_ms = int((time.monotonic() - ctx.started) * 1000)
            findings.append(finding)
    return findings
