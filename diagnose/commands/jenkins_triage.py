"""`jenkins triage`: read builds from a Jenkins server, scan their logs, and report ED160 findings plus a summary.

Order of calls: credentials → `whoami` alone (python-jenkins' `get_version` would go out without credentials before
auth is resolved, and bad credentials cost one failed login, not four) → the version, the agents' labels and the
build list at once → builds, at most `--workers` requests in flight. Findings: one per signature and build (with the
build number, URL, agent and stage), one `pass` per failed build without a known signature, one `error` per build
that could not be read, one `skip` per running build that had not finished when the wait ended.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from earthly_doctor import __version__
from earthly_doctor.errors import UsageError
from earthly_doctor.jenkins import WORKERS
from earthly_doctor.jenkins.client import FATAL, JenkinsClient, JenkinsError, parse_target, resolve_credentials
from earthly_doctor.jenkins.logs import TAIL, Budget, Reader
from earthly_doctor.jenkins.scan import Scanning
from earthly_doctor.jenkins.triage import BuildResult, elapsed_ms, pick_builds, run_many, summarise
from earthly_doctor.model import Confidence, Evidence, Finding, Report, Severity, Status, Verdict
from earthly_doctor.sanitize import Sanitiser



@dataclass
class JenkinsTriageRequest:
    target: str  # JOB (folders joined by /) or a job/build URL
    build: str | None = None
    last: int | None = None
    workers: int = WORKERS  # requests in flight at most; as many builds are read at once
    timeout: float = 10.0  # per request (connect, and each read)
    deadline: float = 600.0  # the whole run
    wait: float = 0.0  # how long to follow a running build
    poll: float = 2.0
    tail: int = TAIL
    signature_dirs: list[str] = field(default_factory=list)


def jenkins_triage(request: JenkinsTriageRequest, env: Mapping[str, str],
                   progress: Callable[[int, int], None] | None = None) -> Report:
    began = time.monotonic()
    if request.last is not None and request.build is not None:
        raise UsageError("give either a BUILD or --last N, not both")
    if request.last is not None and request.last < 1:
        raise UsageError("--last must be at least 1")
    target = parse_target(request.target)
    build = request.build or target.build
    if request.last is not None and target.build is not None:
        raise UsageError("--last N takes a job, not a build URL")
    creds = resolve_credentials(env, target.root)
    # A user's signature files are read before any request (a bad one fails first); the built-in ones on the side
    # while the first answers are awaited, and the first log read waits for them if it must.
    users = Scanning(request.signature_dirs) if request.signature_dirs else None
    client = JenkinsClient(creds, timeout=request.timeout, workers=request.workers, deadline=began + request.deadline)
    warnings: list[str] = []
    sanitiser = functools.cache(Sanitiser)  # made once the requests are out: its rules take 25 ms to compile
    try:
        budget = Budget(began + request.deadline)
        scanning: Future[Scanning]
        reader = Reader(client, budget, tail=request.tail, wait=request.wait, poll=request.poll,
                        scanner=lambda: scanning.result()(), workers=request.workers)  # noqa: PLW0108 -- not yet set
        try:
            # whoami goes alone: with bad credentials the run makes one failed login, not one per request in
            # flight (a directory behind Jenkins may lock the account after a few).
            asked_me = reader.beside(client.whoami)
            if users is not None:
                scanning = Future()
                scanning.set_result(users)
            else:
                scanning = reader.beside(Scanning)
            me = asked_me.result()  # whoami's error (401, not Jenkins, refused) is the one to report
            # The version, the agents' labels and the build list do not depend on each other: they go out together.
            version_asked, labels_asked, refs_asked = _context(client, reader, target.job, build, request.last)
            refs = refs_asked.result()
            try:
                version = version_asked.result()
            except JenkinsError as exc:  # the version is context only
                version = "?"
                warnings.append(str(exc))
            try:
                labels = labels_asked.result()
            except JenkinsError as exc:  # labels are context only (reading nodes may need more permission)
                if exc.kind in FATAL:
                    raise
                labels = {}
                warnings.append(f"agent labels unknown ({exc})")

            def read(done: int, total: int, result: BuildResult | None) -> None:
                if progress:
                    progress(done, total)
                if result is not None:
                    _warm(sanitiser(), result)

            results = run_many(client, reader, target.job, refs, labels, workers=request.workers, budget=budget,
                               progress=read)
        finally:
            reader.close()
    finally:
        client.close()
    summary = summarise(results)
    findings = build_findings(results, summary)
    if not scanning.cancelled():  # (cancelled only when an early error ended the run, which then never gets here)
        scanning.result()  # a failure to load the signatures is raised here when no build was read to meet it
    return sanitiser().report(Report(
        findings=findings,
        verdict=decide(findings, summary),
        tool_version=__version__,
        command="jenkins triage",
        duration_ms=elapsed_ms(began),
        warnings=warnings,
        extra={
            "summary": summary,
            "jenkins": {"url": creds.url, "version": version, "user": me.get("id") or "anonymous",
                        "credentials": creds.source, "job": target.job},
        },
    ))


def _context(client: JenkinsClient, reader: Reader, job: str, build: str | None,
             last: int | None) -> tuple[Future[str], Future[dict[str, list[str]]], Future[list[Any]]]:
    """The server's version, the agents' labels and the builds to read, asked for at once on the side pool."""
    return (reader.beside(client.version), reader.beside(client.node_labels),
            reader.beside(lambda: pick_builds(client, job, build, last)))


def _warm(sanitiser: Sanitiser, result: BuildResult) -> None:
    """A build's findings (as they read when no signature turns out a red herring, the usual case) through the
    sanitiser while the other builds are read: the report's rendering at the end finds most strings done."""
    for finding in build_findings([result], {"signatures": []}):
        sanitiser.finding(finding)


def _where(r: BuildResult) -> str:
    bits = [b for b in (r.node and f"on {r.node}", r.stage and f"stage {r.stage}") if b]
    return f"#{r.number} ({r.result or 'running'}{', ' + ', '.join(bits) if bits else ''})"


def _base_extra(r: BuildResult) -> dict[str, Any]:
    return {"job": r.job, "build": r.number, "url": r.url, "result": r.result, "node": r.node, "labels": r.labels,
            "earthly_version": r.earthly_version, "stage": r.stage, "log_source": r.source}


def _evidence(r: BuildResult) -> list[Evidence]:
    items = [Evidence("build_url", r.url, "Jenkins build api/json")]
    if r.node:
        items.append(Evidence("node", r.node, "wfapi execNode / builtOn / 'Running on' line"))
    if r.earthly_version:
        items.append(Evidence("earthly_version", r.earthly_version, "build log"))
    items.append(Evidence("log_read", f"{r.bytes_read} bytes ({r.source})", "Jenkins log"))
    return items


def build_findings(results: list[BuildResult], summary: dict[str, Any]) -> list[Finding]:
    """ED160 per signature and build (triage's own finding, plus the build's place); pass/skip/error per build."""
    from earthly_doctor.triage.findings import CODE, finding_for  # imported once the first requests are out

    herrings = {row["signature"]: row for row in summary["signatures"] if row["red_herring"]}
    findings: list[Finding] = []
    for r in results:
        if r.error:
            findings.append(Finding(CODE, "Build could not be read", Status.ERROR, Severity.MEDIUM,
                                    f"#{r.number}: {r.error}", category="logs", extra={"job": r.job, "build": r.number}))
            continue
        for found in r.found:
            sig_id = found.match.signature.id
            finding = finding_for([found.match], r.counts.get(sig_id, 1), f"{r.job} #{r.number} {found.log}")
            row = herrings.get(sig_id)
            finding.summary = f"{_where(r)}: {finding.summary}"
            if r.green:
                finding.status, finding.remedies = Status.WARN, []
                finding.summary += " (in a green build)"
            elif row:
                finding.status, finding.remedies = Status.WARN, []
                finding.summary += f" (also in {row['green_builds']} green build(s): a red herring, not the cause)"
            base = _base_extra(r)
            base["stage"] = finding.extra.get("stage") or r.stage
            base["node"] = r.node or finding.extra.get("node")
            finding.extra.update(base)
            finding.extra["red_herring"] = bool(row)
            # `line` counts from the start of what was read, which `log` names (a step's log, a tail from byte N).
            finding.evidence.extend(_evidence(r))
            findings.append(finding)
        if r.found or r.green:
            continue
        if not r.complete:
            title, why = ("Build still running", "still running when the wait ended") if r.building else \
                ("Build log not fully read", "the run's time ran out before the end of its log")
            findings.append(Finding(CODE, title, Status.SKIP, Severity.INFO,
                                    f"{_where(r)}: {why}; {r.bytes_read} bytes read, no known failure yet",
                                    _evidence(r), category="logs", extra=_base_extra(r)))
        else:
            findings.append(Finding(CODE, "No known failure signature", Status.PASS, Severity.INFO,
                                    f"{_where(r)}: no known failure signature in the log",
                                    _evidence(r), category="logs", extra=_base_extra(r)))
    return findings


def decide(findings: list[Finding], summary: dict[str, Any]) -> Verdict:
    """The verdict engine's cause over the builds' findings (red herrings are not causes), with the counts in
    front."""
    readable = [f for f in findings if f.status != Status.ERROR]
    if not readable:
        return Verdict("unknown", "No build log could be read.", Confidence.UNKNOWN, [], [])
    from earthly_doctor.verdict import decide as verdict_of  # imported once the first requests are out

    real = [f for f in readable if not f.extra.get("red_herring")]
    verdict = verdict_of(real)
    if not any(f.status != Status.SKIP for f in real):  # nothing scanned to the end, or only red herrings
        verdict = Verdict("no-known-failure", f"No known failure signature in {summary['builds']} build(s).",
                          Confidence.LIKELY, [], [])
    rows = [row for row in summary["signatures"] if not row["red_herring"] and row["failed_builds"]
            and row.get("cause") == verdict.cause]
    if rows and summary["builds"] > 1:
        row = rows[0]
        nodes = ", ".join(list(row["nodes"])[:5])
        verdict.summary = (f"{row['failed_builds']} of {summary['failed']} failed build(s) show {row['signature']} "
                           f"(agents: {nodes}). {verdict.summary}")
    elif any(row["red_herring"] for row in summary["signatures"]) and verdict.cause == "no-known-failure":
        verdict.summary += " Signatures seen were red herrings: they also appear in green builds."
    if len(verdict.chain) > 3:
        verdict.chain = verdict.chain[:3] + [f"… and {len(verdict.chain) - 3} more build(s)"]
    return verdict
