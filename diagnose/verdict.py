"""The verdict engine: one function, `decide`, turns findings into the root cause, its confidence, the evidence
chain and the remedies ranked for the topology. Every command asks it: `diagnose` (live checks, plus ED160 for
`--log`), `triage` and `jenkins triage` (ED160 findings only), `preflight` (its few checks) and `bundle`.

A cause is a declared rule (`CauseRule`): a name, an order and a predicate that returns a Verdict or None. The
engine runs the built-in rules and the rules checks declare (`Check.rules`, plugins included) in order; the first
Verdict wins. Proof comes first (the daemon, the canary, the running build's proxy), heuristics next, a build log
last. Rules read what checks published (`Published` objects from each check's module), never bare strings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

from earthly_doctor import verdict_podman
from earthly_doctor.checks.ed101_container import Container
from earthly_doctor.checks.ed103_network_mode import NetworkMode
from earthly_doctor.checks.ed110_docker_daemon import Daemon
from earthly_doctor.checks.ed120_loopback_canary import Canary
from earthly_doctor.checks.ed121_live_proxy_reach import LiveReach
from earthly_doctor.checks.ed131_buildkitd import Buildkitd
from earthly_doctor.checks.ed140_earthly_settings import Settings
from earthly_doctor.model import CauseRule, Confidence, Finding, Report, Status, Verdict
from earthly_doctor.remedies.rules import Topology, rank
from earthly_doctor.triage.findings import CODE as LOG_CODE
from earthly_doctor.triage.findings import LogHit
from earthly_doctor.vocabulary import LATENT_EXPORT_PATHS, parse_go_bool

__all__ = ["CauseRule", "Situation", "Topology", "decide", "topology_from", "topology_of"]


def _by_code(findings: Iterable[Finding]) -> dict[str, Finding]:
    result: dict[str, Finding] = {}
    for f in findings:
        result.setdefault(f.code, f)
    return result


# The order the evidence chain is told in: where we are, what the daemon is, the proof, then Earthly's settings.
STORY = ("ED110", "ED101", "ED103", "ED102", "ED120", "ED121", "ED130", "ED111", "ED112", "ED131", "ED140")
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


@dataclass(frozen=True)
class Situation:
    """What the rules read: the findings, the first of each code, and what the core checks published."""

    findings: Sequence[Finding]
    by: dict[str, Finding]
    daemon: Daemon | None
    container: Container | None
    mode: NetworkMode | None
    canary: Canary | None
    live: LiveReach | None
    buildkitd: Buildkitd | None
    settings: Settings | None

    @classmethod
    def of(cls, findings: Sequence[Finding]) -> Situation:
        by = _by_code(findings)
        return cls(findings, by, Daemon.of(by.get(Daemon.code)), Container.of(by.get(Container.code)),
                   NetworkMode.of(by.get(NetworkMode.code)), Canary.of(by.get(Canary.code)),
                   LiveReach.of(by.get(LiveReach.code)), Buildkitd.of(by.get(Buildkitd.code)),
                   Settings.of(by.get(Settings.code)))

    def status(self, code: str) -> Status | None:
        finding = self.by.get(code)
        return finding.status if finding is not None else None

    def chain(self, codes: Iterable[str] = STORY) -> list[str]:
        """The findings the story rests on: the core ones that ran, any other that found something, and the
        warnings and failures of checks outside the story (plugins contribute evidence this way)."""
        by = self.by
        steps = [
            f"{c}: {by[c].summary}"
            for c in codes
            if c in by and by[c].status != Status.SKIP and (c in CORE or by[c].status in (Status.WARN, Status.FAIL))
        ]
        if codes is STORY:
            steps += [f"{c}: {f.summary}" for c, f in by.items()
                      if c not in STORY and c != LOG_CODE and f.status in (Status.WARN, Status.FAIL)]
        return steps

    @property
    def export_path(self) -> str | None:
        return self.settings.export_path if self.settings is not None else None

    def refused(self, code: str) -> bool:
        """ED120 or ED121 proved the daemon's dial to our 127.0.0.1 port is refused (downgraded or not)."""
        status = self.status(code)
        if code == Canary.code:
            return status == Status.FAIL or (
                status == Status.WARN and self.canary is not None and self.canary.daemon_outcome == "refused")
        return status == Status.FAIL and self.live is not None and bool(self.live.refused)

    def daemon_error(self) -> str:
        texts = [p.daemon_error for p in (self.canary, self.live) if p is not None and p.daemon_error]
        return " | ".join(texts)


@dataclass(frozen=True)
class _Rule:
    """A built-in rule: like a check's CauseRule, but it reads the Situation the engine builds once."""

    name: str
    order: int
    decide: Callable[[Situation], Verdict | None]

    @classmethod
    def declared(cls, rule: CauseRule) -> _Rule:
        return cls(rule.name, rule.order, lambda s: rule.decide(s.findings))


def topology_of(findings: Sequence[Finding], cause: str = "unknown", confidence: str = "unknown") -> Topology:
    """What the findings establish about where Earthly and the daemon run (None: not known). The remedy rules
    read it; the verdict's remedies and `fix` both come from it."""
    s = Situation.of(findings)
    return _topology(s, cause, confidence)


def topology_from(report: Report) -> Topology:
    """What a report establishes, with its verdict's cause and ranking (for `fix`, live or from a saved report);
    anything it does not say stays None, and the remedy rules treat None as 'no'."""
    found = topology_of(report.findings, report.verdict.cause, report.verdict.confidence.value)
    return replace(found, ranking=tuple(report.verdict.remedies))


def _topology(s: Situation, cause: str, confidence: str) -> Topology:
    mode = s.mode.final_mode if s.mode is not None else None
    if mode is None and s.by.get(NetworkMode.code) is not None:
        # A report from before final_mode was published: the last hop's mode is in the evidence.
        last = s.by[NetworkMode.code].fact("network_mode")
        mode = str(last).rsplit(":", 1)[-1].strip() if last else None
    ed111 = s.status("ED111")
    return Topology(
        cause=cause,
        confidence=confidence,
        daemon_kind=s.daemon.daemon_kind if s.daemon is not None else None,
        daemon_engine=s.daemon.daemon_engine if s.daemon is not None else None,
        network_mode=mode,
        in_container=_flag(s.container.containerized) if s.container is not None else None,
        buildkitd_8371=_flag(s.buildkitd.pinned_port_ok) if s.buildkitd is not None else None,
        buildkit_local=_flag(s.settings.buildkit_local) if s.settings is not None else None,
        daemon_proxy=True if ed111 == Status.FAIL else None,
        image_has_env=_flag(s.settings.earthly_image) if s.settings is not None else None,
    )


def _flag(value: object) -> bool | None:
    """A published yes/no (a JSON boolean; a string as Go's ParseBool reads it, in a hand-written report)."""
    if isinstance(value, bool) or value is None:
        return value
    return parse_go_bool(str(value))


def _ranked(s: Situation, cause: str) -> list[str]:
    # Podman ranks its own remedies (its frontend, registries.conf) and drops dockerd's advice.
    return verdict_podman.adjust(cause, rank(_topology(s, cause, "unknown")), s.by)


def _where_cause(s: Situation) -> tuple[str, str]:
    """(cause, why) for a daemon that cannot reach our loopback, from what the other checks found."""
    kind = s.daemon.daemon_kind if s.daemon else None
    endpoint = s.daemon.endpoint if s.daemon else None
    container = s.by.get(Container.code)
    in_container = bool(s.container and s.container.containerized)
    runs_us = s.mode.daemon_runs_us if s.mode else None
    if kind == "rootless":
        return ("proxy-unreachable-rootless-daemon",
                "the daemon is rootless: RootlessKit gives it a network namespace and loopback of its own")
    if kind in ("remote", "desktop"):
        where = "a VM (Docker Desktop)" if kind == "desktop" else f"another machine or namespace ({endpoint})"
        return "proxy-unreachable-remote-daemon", (
            f"the daemon runs in {where}: Docker-in-Docker, a tcp:// daemon or a VM dials its own 127.0.0.1, and "
            "`--network host` would only join the host's namespace, not the daemon's")
    if runs_us is False:
        return ("proxy-unreachable-remote-daemon", ("the daemon does not run this container (ED103): it is another "
                "daemon (Docker-in-Docker or a sidecar) with its own loopback"))
    if in_container or container is None:  # ED101 not run: a bridge container is by far the usual shape
        runtime = s.container.runtime if s.container else None
        cid = ((s.container.container_id if s.container else None) or "")[:12]
        final = s.mode.final_mode if s.mode else None
        words = ["Earthly would run in a", runtime if runtime not in (None, "unknown") else "", "container", cid]
        if s.mode is not None and s.mode.subject:  # the doctor image beside an agent: name the agent, not ourselves
            words = ["Earthly would run in the", s.mode.subject]
        if final == "none":
            words.append("with no network")
        elif final:
            words.append("on a bridge network" if final == "bridge" else f"on the {final} network")
        if runtime == "kubernetes":
            words.append("(a Kubernetes pod network: only hostNetwork: true shares the node's)")
        text = " ".join(w for w in words if w)
        return "proxy-unreachable-bridge-container", f"{text}, whose 127.0.0.1 is its own; the daemon dials its own"
    if s.status("ED102") == Status.FAIL:
        return ("proxy-unreachable-remote-daemon",
                "this process and the daemon are in different network namespaces (ED102)")
    return ("proxy-unreachable-remote-daemon",
            "this process and the daemon see different loopbacks (another network namespace)")


# --- the built-in rules, in order ------------------------------------------------------------------------------


def _docker_unreachable(s: Situation) -> Verdict | None:
    daemon = s.by.get(Daemon.code)
    if daemon is None or daemon.status != Status.FAIL:
        return None
    return Verdict(
        "docker-unreachable",
        f"Earthly cannot export images: the Docker daemon is not usable ({daemon.summary.split(';')[0]}).",
        Confidence.PROVEN,
        [],
        [f"ED110: {daemon.summary}"],
    )


def _invalid_setting(s: Situation) -> Verdict | None:
    settings = s.by.get(Settings.code)
    if settings is None or s.export_path != "invalid":
        return None
    return Verdict(
        "unknown",
        f"Earthly would stop before building, on an invalid setting: {settings.summary}. Use true/false.",
        Confidence.PROVEN,
        ["disable-proxy"],
        s.chain((Settings.code,)),
    )


def _refused(s: Situation) -> Verdict | None:
    if not (s.refused(Canary.code) or s.refused(LiveReach.code)):
        return None
    if "proxyconnect" in s.daemon_error().lower():
        cause = "daemon-proxy-captures-loopback"
        return Verdict(
            cause,
            "The daemon sends pulls from 127.0.0.1 to its HTTP proxy, which cannot reach Earthly's registry proxy: "
            "every SAVE IMAGE fails.",
            Confidence.PROVEN,
            _ranked(s, cause),
            s.chain(),
        )
    cause, why = _where_cause(s)
    if s.settings is not None and s.export_path in LATENT_EXPORT_PATHS and s.status(LiveReach.code) != Status.FAIL:
        return Verdict(
            "healthy",
            f"The registry-proxy failure cannot happen with these settings: {s.export_path} "
            f"export ({s.settings.export_source}). The gap is real, "
            f"though ({why}): without that setting it would be `{cause}`.",
            Confidence.LIKELY,
            [],
            s.chain(),
        )
    proof = "ED121 (the running build's own proxy)" if s.refused(LiveReach.code) else "the canary (ED120)"
    return Verdict(
        cause,
        f"The Docker daemon cannot reach Earthly's registry proxy: {why}. Every SAVE IMAGE fails with "
        f"`dial tcp 127.0.0.1:<port>: connect: connection refused` (proven by {proof}).",
        Confidence.PROVEN,
        _ranked(s, cause),
        s.chain(),
    )


def _build_elsewhere(s: Situation) -> Verdict | None:
    """This namespace is fine (canary), but a running build in another namespace was refused at its own proxy port
    (ED121): that build fails, so "healthy" would be wrong for it. Diagnose from the host while an agent builds."""
    builds = s.live.refused_elsewhere if s.live is not None else None
    if s.status(Canary.code) != Status.PASS or not builds:
        return None
    kind = s.daemon.daemon_kind if s.daemon else None
    cause = {"local": "proxy-unreachable-bridge-container", "rootless": "proxy-unreachable-rootless-daemon"}.get(
        kind or "", "proxy-unreachable-remote-daemon")
    where = "most likely a container on a bridge network" if cause.endswith("bridge-container") else "not the daemon's"
    return Verdict(
        cause,
        f"A running build cannot export: {'; '.join(builds)} listens in another network namespace ({where}), and "
        "the daemon was refused at that very port (ED121), so its SAVE IMAGE fails with `dial tcp 127.0.0.1:<port>: "
        "connect: connection refused`. From this namespace the proxy would work (the canary, ED120, arrived).",
        Confidence.PROVEN,
        _ranked(s, cause),
        s.chain(),
    )


def _insecure_loopback(s: Situation) -> Verdict | None:
    if s.status(Canary.code) != Status.WARN or s.canary is None or not s.canary.tls_only:
        return None
    if verdict_podman.is_podman(s.by):
        return verdict_podman.tls_only(s.by, s.chain(), LATENT_EXPORT_PATHS)
    cause = "insecure-loopback-removed"
    return Verdict(
        cause,
        "The daemon reaches this loopback but only over TLS: 127.0.0.0/8 is no longer an insecure registry, so the "
        "proxy's plain-HTTP pull fails (so would buildkitd's 8371). Restore insecure-registries 127.0.0.0/8 on the "
        "daemon.",
        Confidence.PROVEN,
        _ranked(s, cause),
        s.chain(),
    )


def _healthy(s: Situation) -> Verdict | None:
    if s.status(Canary.code) != Status.PASS:
        return None
    notes = ""
    if s.status("ED111") == Status.WARN:
        notes = " The daemon's HTTP proxy does not capture loopback (ED111 is only a warning)."
    if s.settings is not None and s.export_path in LATENT_EXPORT_PATHS:
        notes += f" Earthly would not use the proxy anyway ({s.export_path} export)."
    return Verdict(
        "healthy",
        "The Docker daemon shares this namespace's loopback: Earthly's registry proxy is reachable from here." + notes,
        Confidence.PROVEN,
        [],
        s.chain(),
    )


def _suspected(s: Situation) -> Verdict | None:
    """No proof either way (the canary did not run or did not finish): the heuristics, said as such."""
    mode = s.by.get(NetworkMode.code)
    suspect = s.status("ED102") == Status.FAIL or (
        mode is not None and mode.status == Status.WARN and s.mode is not None and s.mode.final_mode != "host"
        and s.mode.daemon_runs_us is not None)
    if not suspect:
        return None
    cause, why = _where_cause(s)
    return Verdict(
        cause,
        f"Likely: {why}, so the daemon would be refused at Earthly's proxy. Not proven: the canary (ED120) gave no "
        "answer.",
        Confidence.LIKELY,
        _ranked(s, cause),
        s.chain(),
    )


def _log_remedies(finding: Finding) -> list[str]:
    return [r for r in finding.remedies if r not in LIVE_PROOF_ONLY]


def _from_log(s: Situation) -> Verdict | None:
    """The cause a build log shows (ED160 findings from triage), when the live checks gave no answer; None when
    no log was scanned. A log proves no topology, so the best confidence here is `likely`. Hits that also appear
    in green builds (Jenkins triage's red herrings) are not the cause."""
    scanned = [f for f in s.findings if f.code == LOG_CODE and f.status not in (Status.SKIP, Status.ERROR)]
    if not scanned:
        return None
    hits = [(f, hit) for f in scanned if (hit := LogHit.of(f)) is not None and hit.signature and not hit.red_herring]
    logs = sorted({str(hit.log) if (hit := LogHit.of(f)) is not None and hit.log is not None else "the log"
                   for f in scanned})

    def chain(items: list[tuple[Finding, LogHit]]) -> list[str]:
        return [f"ED160 {h.log}:{h.line}: {f.summary}" for f, h in items]

    proxy = [(f, h) for f, h in hits if h.cause == "proxy-unreachable"]
    if proxy:
        ephemeral = [(f, h) for f, h in proxy if h.signature == "proxy-unreachable"]
        main, hit = (ephemeral or proxy)[0]
        if ephemeral:
            summary = (
                f"The Docker daemon was refused at Earthly's registry proxy 127.0.0.1:{hit.port or '?'} "
                f"({hit.where()}): Earthly and the daemon see different loopbacks. A log cannot show why; run "
                "`earthly-doctor diagnose` where Earthly runs to prove the topology."
            )
        else:
            era = f" ({hit.generation})" if hit.generation else ""
            summary = (
                f"The Docker daemon was refused at buildkitd's registry port 127.0.0.1:{hit.port or '8371'} "
                f"({hit.where()}){era}: Earthly's registry proxy was off or did not exist yet; the port is not "
                "published or not reachable from the daemon, so disabling the proxy or pinning the port changes nothing."
            )
        return Verdict("proxy-unreachable", summary, Confidence.LIKELY, _log_remedies(main), chain(proxy))
    # Other causes a signature names: the daemon's own settings first, then a daemon Earthly could not use.
    for cause in LOG_CAUSES:
        named = [(f, h) for f, h in hits if h.cause == cause]
        if named:
            first, hit = named[0]
            return Verdict(cause, f"{first.title} ({hit.where()}): {first.summary}.", Confidence.LIKELY,
                           _log_remedies(first), chain(named))
    # A warning-kind hit (the proxy failed to start, Earthly fell back to tar) is not what failed the build.
    failures = [(f, h) for f, h in hits if h.kind in ("failure", "look-alike") and f.status in (Status.FAIL, Status.WARN)]
    if failures:
        # A signature that says why beats the bare "the build failed" line (a fallback), whatever their status.
        top, hit = max(failures, key=lambda item: (not item[1].fallback, item[0].status.rank))
        if hit.fallback:
            line = str(top.evidence[0].value) if top.evidence else top.summary
            return Verdict("unknown", f"The build failed ({hit.where()}: `{line[:300]}`), and no known signature says "
                           "why; it is not the unreachable-proxy failure.", Confidence.POSSIBLE, [], chain(failures))
        what = top.summary if hit.kind == "look-alike" else top.title[:1].lower() + top.title[1:]
        return Verdict("unknown", f"Not the unreachable-proxy failure: {what} ({hit.where()}).", Confidence.POSSIBLE,
                       _log_remedies(top), chain(failures))
    noted = f"; informational: {', '.join(sorted({str(h.signature) for _, h in hits}))}" if hits else ""
    return Verdict("no-known-failure", f"No known failure signature in {', '.join(logs)}{noted}.", Confidence.LIKELY,
                   [], chain(hits))


def _undecided(s: Situation) -> Verdict:
    unfinished = [f.code for f in s.findings if f.status == Status.ERROR]
    note = f" ({', '.join(unfinished)} did not finish)" if unfinished else ""
    daemon = s.by.get(Daemon.code)
    if daemon is not None and daemon.status == Status.ERROR and s.daemon is not None \
            and s.daemon.error_kind == "unsupported":
        note = f" (the daemon could not be checked: {daemon.summary})"  # ours, not a timeout or a dead daemon
    return Verdict("unknown", f"No root cause could be established{note}.", Confidence.UNKNOWN, [], s.chain())


RULES: tuple[_Rule, ...] = (
    _Rule("docker-unreachable", 100, _docker_unreachable),
    _Rule("invalid-setting", 200, _invalid_setting),
    _Rule("refused", 300, _refused),
    _Rule("build-elsewhere", 400, _build_elsewhere),
    _Rule("insecure-loopback", 500, _insecure_loopback),
    _Rule("healthy", 600, _healthy),
    _Rule("suspected", 700, _suspected),
    _Rule("build-log", 800, _from_log),
)


def decide(findings: Sequence[Finding], rules: Iterable[CauseRule] = ()) -> Verdict:
    """The one verdict: the first rule (built-in or declared by a check) that holds, else `unknown`."""
    s = Situation.of(findings)
    for rule in sorted((*RULES, *map(_Rule.declared, rules)), key=lambda r: r.order):
        verdict = rule.decide(s)
        if verdict is not None:
            return verdict
    return _undecided(s)
