"""One root cause from the findings, with its confidence, evidence chain and remedies ranked for the topology."""

from __future__ import annotations

from typing import Iterable

from earthly_doctor.model import Confidence, Finding, Status, Verdict


def _by_code(findings: Iterable[Finding]) -> dict[str, Finding]:
    result: dict[str, Finding] = {}
    for f in findings:
        result.setdefault(f.code, f)
    return result


def decide(findings: list[Finding]) -> Verdict:
    by = _by_code(findings)
    daemon = by.get("ED110")
    canary = by.get("ED120")
    chain: list[str] = []

    if daemon and daemon.status == Status.FAIL:
        return Verdict(
            "docker-unreachable",
            f"Earthly cannot export images: the Docker daemon is not usable ({daemon.summary.split(';')[0]}).",
            Confidence.PROVEN,
            [],
            [f"ED110: {daemon.summary}"],
        )

    kind = daemon.fact("daemon_kind") if daemon else None
    if canary and canary.status == Status.FAIL:
        chain.append(f"ED120: {canary.summary}")
        if kind == "rootless":
            cause, remedies = "proxy-unreachable-rootless-daemon", ["disable-proxy", "pinned-port"]
            why = "the daemon is rootless, so RootlessKit gives it a loopback of its own"
        elif kind in ("remote", "desktop"):
            cause, remedies = "proxy-unreachable-remote-daemon", ["disable-proxy", "pinned-port"]
            why = "the daemon runs in another namespace or machine (remote, Docker-in-Docker or a VM)"
        else:
            cause, remedies = "proxy-unreachable-bridge-container", ["disable-proxy", "host-network", "pinned-port"]
            why = "this process runs in a network namespace other than the daemon's (a bridge-networked container)"
        return Verdict(
            cause,
            f"Earthly's registry proxy would be unreachable: {why}; every SAVE IMAGE would fail with "
            "`connect: connection refused`.",
            Confidence.PROVEN,
            remedies,
            chain,
        )
    if canary and canary.status == Status.PASS:
        return Verdict(
            "healthy",
            "The Docker daemon shares this namespace's loopback: Earthly's registry proxy is reachable.",
            Confidence.PROVEN,
            [],
            [f"ED120: {canary.summary}"],
        )
    if canary and canary.status == Status.WARN and canary.fact("daemon_outcome") and any(
        h.startswith("TLS") for h in canary.fact("requests_seen", [])
    ):
        return Verdict(
            "insecure-loopback-removed",
            "The daemon reaches this loopback but refuses plain HTTP to 127.0.0.1: the proxy pull fails over TLS.",
            Confidence.PROVEN,
            ["disable-proxy"],
            [f"ED120: {canary.summary}"],
        )
    unfinished = [f.code for f in findings if f.status == Status.ERROR]
    note = f" ({', '.join(unfinished)} did not finish)" if unfinished else ""
    return Verdict("unknown", f"No root cause could be established{note}.", Confidence.UNKNOWN, [], chain)
