"""One root cause from the findings, with its confidence, evidence chain and remedies ranked for the topology."""

from __future__ import annotations

from typing import Iterable

from earthly_doctor import verdict_podman
from earthly_doctor.model import Confidence, Finding, Status, Verdict


def _by_code(findings: Iterable[Finding]) -> dict[str, Finding]:
    result: dict[str, Finding] = {}
    for f in findings:
        result.setdefault(f.code, f)
    return result


# The order the evidence chain is told in: where we are, what the daemon is, the proof, then Earthly's settings.
STORY = ("ED110", "ED101", "ED103", "ED102", "ED120", "ED121", "ED130", "ED111", "ED112", "ED131", "ED140")
LATENT_PATHS = {"none", "tar", "buildkitd-8371"}  # export paths that never touch the registry proxy


CORE = {"ED110", "ED101", "ED103", "ED102", "ED120", "ED121", "ED140"}

# Causes a log signature can name on its own, most fundamental first: a daemon Earthly cannot use explains a
# buildkitd that never started, and a port clash explains a start-up that timed out.
LOG_CAUSES = (
    "daemon-proxy-captures-loopback",
    "insecure-loopback-removed",
    "docker-unreachable",
    "buildkitd-port-clash",
    "buildkitd-start-failed",
    "buildkitd-unreachable",
)
LIVE_PROOF_ONLY = frozenset({"pinned-port"})  # needs ED131's proof that the daemon reaches 8371; a log has none


def _chain(by: dict[str, Finding], codes: Iterable[str] = STORY) -> list[str]:
    """The findings the story rests on: the core ones that ran, and any other that found something."""
    return [
        f"{c}: {by[c].summary}"
        for c in codes
        if c in by and by[c].status != Status.SKIP and (c in CORE or by[c].status in (Status.WARN, Status.FAIL))
    ]


def _refused(f: Finding | None) -> bool:
    """ED120 or ED121 proved the daemon's dial to our 127.0.0.1 port is refused (downgraded or not)."""
    if f is None:
        return False
    if f.code == "ED120":
        return f.status == Status.FAIL or (f.status == Status.WARN and f.fact("daemon_outcome") == "refused")
    return f.status == Status.FAIL and bool(f.extra.get("refused"))


def _daemon_error(by: dict[str, Finding]) -> str:
    texts = [str(e.value) for code in ("ED120", "ED121") if code in by for e in by[code].evidence if e.fact.startswith("daemon_error")]
    return " | ".join(texts)


def topology(by: dict[str, Finding]) -> tuple[str, str]:
    """(cause, why) for a daemon that cannot reach our loopback, from what the other checks found."""
    daemon = by.get("ED110")
    kind = daemon.fact("daemon_kind") if daemon else None
    endpoint = daemon.fact("endpoint") if daemon else None
    container = by.get("ED101")
    in_container = bool(container and container.extra.get("containerized"))
    mode = by.get("ED103")
    runs_us = mode.extra.get("daemon_runs_us") if mode else None
    netns = by.get("ED102")
    if kind == "rootless":
        return "proxy-unreachable-rootless-daemon", "the daemon is rootless: RootlessKit gives it a network namespace and loopback of its own"
    if kind in ("remote", "desktop"):
        where = "a VM (Docker Desktop)" if kind == "desktop" else f"another machine or namespace ({endpoint})"
        return "proxy-unreachable-remote-daemon", (f"the daemon runs in {where}: Docker-in-Docker, a tcp:// daemon or a VM dials its own 127.0.0.1, and "
                                             "`--network host` would only join the host's namespace, not the daemon's")
    if runs_us is False:
        return "proxy-unreachable-remote-daemon", "the daemon does not run this container (ED103): it is another daemon (Docker-in-Docker or a sidecar) with its own loopback"
    if in_container or container is None:  # ED101 not run: a bridge container is by far the usual shape
        runtime = container.extra.get("runtime") if container else None
        cid = ((container.extra.get("container_id") if container else None) or "")[:12]
        final = mode.extra.get("final_mode") if mode else None
        words = ["Earthly would run in a", runtime if runtime not in (None, "unknown") else "", "container", cid]
        if mode and mode.extra.get("subject"):  # the doctor image beside an agent: name the agent, not ourselves
            words = ["Earthly would run in the", str(mode.extra["subject"])]
        if final == "none":
            words.append("with no network")
        elif final:
            words.append("on a bridge network" if final == "bridge" else f"on the {final} network")
        if runtime == "kubernetes":
            words.append("(a Kubernetes pod network: only hostNetwork: true shares the node's)")
        text = " ".join(w for w in words if w)
        return "proxy-unreachable-bridge-container", f"{text}, whose 127.0.0.1 is its own; the daemon dials its own"
    if netns and netns.status == Status.FAIL:
        return "proxy-unreachable-remote-daemon", "this process and the daemon are in different network namespaces (ED102)"
    return "proxy-unreachable-remote-daemon", "this process and the daemon see different loopbacks (another network namespace)"


def rank_remedies(cause: str, by: dict[str, Finding]) -> list[str]:
    """Best first, and only what works in this topology (DESIGN §6a)."""
    container = by.get("ED101")
    in_container = bool(container and container.extra.get("containerized"))
    settings = by.get("ED140")
    image_has_env = bool(settings and settings.fact("earthly_image"))
    buildkitd = by.get("ED131")
    pinned = bool(buildkitd and buildkitd.extra.get("pinned_port_ok"))
    if cause == "daemon-proxy-captures-loopback":
        return ["daemon-no-proxy", "disable-proxy"]
    if cause == "insecure-loopback-removed":
        return ["disable-proxy"]
    if not cause.startswith("proxy-unreachable"):
        return []
    remedies = ["disable-proxy"]
    if cause == "proxy-unreachable-bridge-container":
        remedies.append("host-network")  # the host daemon's namespace is the host's: --network host joins it
    if in_container and not image_has_env:
        remedies.append("earthly-image")
    if pinned:
        remedies.append("pinned-port")  # only with a local buildkitd whose 8371 the daemon reaches (ED131)
    return verdict_podman.adjust(cause, remedies, by)


def decide(findings: list[Finding]) -> Verdict:
    by = _by_code(findings)
    daemon = by.get("ED110")
    canary = by.get("ED120")
    live = by.get("ED121")
    settings = by.get("ED140")
    export_path = settings.extra.get("export_path") if settings else None

    if daemon and daemon.status == Status.FAIL:
        return Verdict(
            "docker-unreachable",
            f"Earthly cannot export images: the Docker daemon is not usable ({daemon.summary.split(';')[0]}).",
            Confidence.PROVEN,
            [],
            [f"ED110: {daemon.summary}"],
        )
    if settings is not None and export_path == "invalid":
        return Verdict(
            "unknown",
            f"Earthly would stop before building, on an invalid setting: {settings.summary}. Use true/false.",
            Confidence.PROVEN,
            ["disable-proxy"],
            _chain(by, ("ED140",)),
        )

    refused = _refused(canary) or _refused(live)
    if refused:
        error = _daemon_error(by)
        if "proxyconnect" in error.lower():
            return Verdict(
                "daemon-proxy-captures-loopback",
                "The daemon sends pulls from 127.0.0.1 to its HTTP proxy, which cannot reach Earthly's registry proxy: "
                "every SAVE IMAGE fails.",
                Confidence.PROVEN,
                rank_remedies("daemon-proxy-captures-loopback", by),
                _chain(by),
            )
        cause, why = topology(by)
        if settings is not None and export_path in LATENT_PATHS and not (live and live.status == Status.FAIL):
            return Verdict(
                "healthy",
                f"The registry-proxy failure cannot happen with these settings: {settings.fact('export_path')} "
                f"export ({ {e.fact: e.source for e in settings.evidence}.get('export_path')}). The gap is real, "
                f"though ({why}): without that setting it would be `{cause}`.",
                Confidence.LIKELY,
                [],
                _chain(by),
            )
        proof = "ED121 (the running build's own proxy)" if _refused(live) else "the canary (ED120)"
        return Verdict(
            cause,
            f"The Docker daemon cannot reach Earthly's registry proxy: {why}. Every SAVE IMAGE fails with "
            f"`dial tcp 127.0.0.1:<port>: connect: connection refused` (proven by {proof}).",
            Confidence.PROVEN,
            rank_remedies(cause, by),
            _chain(by),
        )
    elsewhere = live.extra.get("refused_elsewhere") if live else None
    if canary and canary.status == Status.PASS and elsewhere:
        return _build_elsewhere(by, elsewhere)
    if canary and canary.status == Status.WARN and any(h.startswith("TLS") for h in canary.fact("requests_seen", []) or []):
        if verdict_podman.is_podman(by):
            return verdict_podman.tls_only(by, _chain(by), LATENT_PATHS)
        return Verdict(
            "insecure-loopback-removed",
            "The daemon reaches this loopback but only over TLS: 127.0.0.0/8 is no longer an insecure registry, so the "
            "proxy's plain-HTTP pull fails (so would buildkitd's 8371). Restore insecure-registries 127.0.0.0/8 on the daemon.",
            Confidence.PROVEN,
            rank_remedies("insecure-loopback-removed", by),
            _chain(by),
        )
    if canary and canary.status == Status.PASS:
        notes = ""
        if "ED111" in by and by["ED111"].status == Status.WARN:
            notes = " The daemon's HTTP proxy does not capture loopback (ED111 is only a warning)."
        if settings is not None and export_path in LATENT_PATHS:
            notes += f" Earthly would not use the proxy anyway ({settings.fact('export_path')} export)."
        return Verdict(
            "healthy",
            "The Docker daemon shares this namespace's loopback: Earthly's registry proxy is reachable from here."
            + notes,
            Confidence.PROVEN,
            [],
            _chain(by),
        )
    # No proof either way (the canary did not run or did not finish): the heuristics, said as such.
    netns = by.get("ED102")
    mode = by.get("ED103")
    suspect = (netns and netns.status == Status.FAIL) or (mode and mode.status == Status.WARN and mode.extra.get("final_mode") != "host"
                                                         and mode.extra.get("daemon_runs_us") is not None)
    if suspect:
        cause, why = topology(by)
        return Verdict(
            cause,
            f"Likely: {why}, so the daemon would be refused at Earthly's proxy. Not proven: the canary (ED120) gave no answer.",
            Confidence.LIKELY,
            rank_remedies(cause, by),
            _chain(by),
        )
    from_log = decide_from_log(findings)
    if from_log is not None:
        return from_log
    unfinished = [f.code for f in findings if f.status == Status.ERROR]
    note = f" ({', '.join(unfinished)} did not finish)" if unfinished else ""
    if daemon and daemon.status == Status.ERROR and daemon.extra.get("error_kind") == "unsupported":
        note = f" (the daemon could not be checked: {daemon.summary})"  # ours, not a timeout or a dead daemon
    return Verdict("unknown", f"No root cause could be established{note}.", Confidence.UNKNOWN, [], _chain(by))


def _build_elsewhere(by: dict[str, Finding], builds: list[str]) -> Verdict:
    """This namespace is fine (canary), but a running build in another namespace was refused at its own proxy port
    (ED121): that build fails, so "healthy" would be wrong for it. Diagnose from the host while an agent builds."""
    daemon = by.get("ED110")
    kind = daemon.fact("daemon_kind") if daemon else None
    cause = {"local": "proxy-unreachable-bridge-container", "rootless": "proxy-unreachable-rootless-daemon"}.get(
        kind or "", "proxy-unreachable-remote-daemon")
    where = "most likely a container on a bridge network" if cause.endswith("bridge-container") else "not the daemon's"
    return Verdict(
        cause,
        f"A running build cannot export: {'; '.join(builds)} listens in another network namespace ({where}), and "
        "the daemon was refused at that very port (ED121), so its SAVE IMAGE fails with `dial tcp 127.0.0.1:<port>: "
        "connect: connection refused`. From this namespace the proxy would work (the canary, ED120, arrived).",
        Confidence.PROVEN,
        rank_remedies(cause, by),
        _chain(by),
    )


def _log_remedies(finding: Finding) -> list[str]:
    return [r for r in finding.remedies if r not in LIVE_PROOF_ONLY]


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
            era = f" ({main.extra['generation']})" if main.extra.get("generation") else ""
            summary = (
                f"The Docker daemon was refused at buildkitd's registry port 127.0.0.1:{main.extra.get('port', '8371')} "
                f"({where(main)}){era}: Earthly's registry proxy was off or did not exist yet; the port is not "
                "published or not reachable from the daemon, so disabling the proxy or pinning the port changes nothing."
            )
        return Verdict("proxy-unreachable", summary, Confidence.LIKELY, _log_remedies(main), chain(proxy))
    # Other causes a signature names: the daemon's own settings first, then a daemon Earthly could not use.
    for cause in LOG_CAUSES:
        named = [f for f in hits if f.extra.get("cause") == cause]
        if named:
            return Verdict(
                cause,
                f"{named[0].title} ({where(named[0])}): {named[0].summary}.",
                Confidence.LIKELY,
                _log_remedies(named[0]),
                chain(named),
            )
    # A warning-kind hit (the proxy failed to start, Earthly fell back to tar) is not what failed the build.
    failures = [f for f in hits if f.extra.get("kind") in ("failure", "look-alike") and f.status in (Status.FAIL, Status.WARN)]
    if failures:
        # A signature that says why beats the bare "the build failed" line (a fallback), whatever their status.
        top = max(failures, key=lambda f: (not f.extra.get("fallback"), f.status.rank))
        if top.extra.get("fallback"):
            line = str(top.evidence[0].value) if top.evidence else top.summary
            return Verdict(
                "unknown",
                f"The build failed ({where(top)}: `{line[:300]}`), and no known signature says why; it is not the "
                "unreachable-proxy failure.",
                Confidence.POSSIBLE,
                [],
                chain(failures),
            )
        what = top.summary if top.extra.get("kind") == "look-alike" else top.title[:1].lower() + top.title[1:]
        return Verdict(
            "unknown",
            f"Not the unreachable-proxy failure: {what} ({where(top)}).",
            Confidence.POSSIBLE,
            _log_remedies(top),
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
