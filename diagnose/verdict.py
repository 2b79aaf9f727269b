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
    from_log = decide_from_log(findings)
    if from_log is not None:
        return from_log
    unfinished = [f.code for f in findings if f.status == Status.ERROR]
    note = f" ({', '.join(unfinished)} did not finish)" if unfinished else ""
    return Verdict("unknown", f"No root cause could be established{note}.", Confidence.UNKNOWN, [], chain)


def decide_from_log(findings: list[Finding]) -> Verdict | None:
    """The cause a build log shows (ED160 findings from triage), when the live checks gave no answer; None when
    no log was scanned. A log proves no topology, so the best confidence here is `likely`."""
    scanned = [f for f in findings if f.code == "ED160" and f.status != Status.SKIP]
    if not scanned:
        return None
    hits = [f for f in scanned if f.extra.get("signature")]
    logs = sorted({str(f.extra.get("log", "the log")) for f in scanned})

    def chain(items: list[Finding]) -> list[str]:
        return [f"ED160 {f.extra.get('log')}:{f.extra.get('line')}: {f.summary}" for f in items]

    def where(f: Finding) -> str:
        stage = f", stage {f.extra['stage']}" if f.extra.get("stage") else ""
        return f"at {f.extra.get('log')}:{f.extra.get('line')}{stage}"

    proxy = [f for f in hits if f.extra.get("cause") == "proxy-unreachable"]
    if proxy:
        ephemeral = [f for f in proxy if f.extra.get("signature") == "proxy-unreachable"]
        main = (ephemeral or proxy)[0]
        if ephemeral:
            summary = (
                f"The Docker daemon was refused at Earthly's registry proxy 127.0.0.1:{main.extra.get('port', '?')} "
                f"({where(main)}): Earthly and the daemon see different loopbacks. A log cannot show why; run "
                "`earthly-doctor diagnose` where Earthly runs to prove the topology."
            )
        else:
            summary = (
                f"The Docker daemon was refused at buildkitd's registry port 127.0.0.1:{main.extra.get('port', '8371')} "
                f"({where(main)}): Earthly's proxy was already off; the port is not published or not reachable from "
                "the daemon, so disabling the proxy or pinning the port changes nothing."
            )
        return Verdict("proxy-unreachable", summary, Confidence.LIKELY, list(main.remedies), chain(proxy))
    docker = [f for f in hits if f.extra.get("cause") == "docker-unreachable"]
    if docker:
        return Verdict(
            "docker-unreachable",
            f"Earthly could not use a Docker daemon ({where(docker[0])}): {docker[0].summary}.",
            Confidence.LIKELY,
            list(docker[0].remedies),
            chain(docker),
        )
    # A warning-kind hit (the proxy failed to start, Earthly fell back to tar) is not what failed the build.
    failures = [f for f in hits if f.extra.get("kind") in ("failure", "look-alike") and f.status in (Status.FAIL, Status.WARN)]
    if failures:
        top = max(failures, key=lambda f: f.status.rank)
        return Verdict(
            "unknown",
            f"Not the unreachable-proxy failure: {top.title.lower()} ({where(top)}).",
            Confidence.POSSIBLE,
            list(top.remedies),
            chain(failures),
        )
    noted = f"; informational: {', '.join(sorted({str(f.extra['signature']) for f in hits}))}" if hits else ""
    return Verdict(
        "no-known-failure",
        f"No known failure signature in {', '.join(logs)}{noted}.",
        Confidence.LIKELY,
        [],
        chain(hits),
    )
