"""`preflight` (and the first step of `run`): would Earthly's registry proxy be reachable for this build?

It reads the proxy setting the way Earthly would (ED140's semantics: Go ParseBool, `.env` below the environment,
the flag only before the target, `EARTH_` for EarthBuild's `earth`), and only when the proxy would be used runs
the canary and the checks that name the topology, all within one short deadline. The answer is the environment
to build with: `EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true` when the daemon cannot reach this loopback.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from earthly_doctor.checks.ed110_docker_daemon import Daemon
from earthly_doctor.checks.ed120_loopback_canary import Canary
from earthly_doctor.model import Confidence, Report, Status, Verdict
from earthly_doctor.runner import TIMED_OUT
from earthly_doctor.vocabulary import NON_BUILD_SUBCOMMANDS, proxy_variables

DEFAULT_TIMEOUT = 5.0
PREFLIGHT_CHECKS = ("ED101", "ED103", "ED110", "ED120", "ED140")  # where we run, the daemon, the canary, the settings


@dataclass
class EarthlyCommand:
    """The command `run` will start, as far as the proxy is concerned."""

    argv: list[str]
    program: str  # the basename of argv[0]
    product: str | None  # earthly | earthbuild | None (a wrapper such as make or sh: we cannot read its flags)
    global_flags: list[str] = field(default_factory=list)  # arguments before the target (where the flag counts)
    target: str | None = None
    subcommand: str | None = None

    @property
    def exports(self) -> bool | None:
        """True: a build that may SAVE IMAGE; False: nothing to export; None: a wrapper, unknown."""
        if self.product is None:
            return None
        return self.target is not None and self.subcommand is None

    @property
    def variables(self) -> list[str]:
        """The variable names that disable the proxy for this program (both for a wrapper)."""
        return proxy_variables(self.product)


def parse_command(argv: Sequence[str]) -> EarthlyCommand:
    """Find the target the way Earthly's CLI does: options first, then `<target-ref> [build-args...]`."""
    argv = list(argv)
    program = os.path.basename(argv[0]) if argv else ""
    product = {"earthly": "earthly", "earth": "earthbuild"}.get(program)
    command = EarthlyCommand(argv, program, product)
    if product is None:
        return command
    for arg in argv[1:]:
        if arg.startswith("-"):
            command.global_flags.append(arg)
            continue
        if "+" in arg:
            command.target = arg
        elif arg in NON_BUILD_SUBCOMMANDS:
            command.subcommand = arg
        elif arg == "build":  # `earthly build +target`: the legacy explicit verb
            continue
        else:
            command.global_flags.append(arg)  # most likely the value of the option before it
            continue
        break
    return command


@dataclass
class ProxySetting:
    """Whether Earthly would start its registry proxy, and from what."""

    enabled: bool | None  # None: a value Earthly rejects (it exits); we leave it alone
    source: str
    export: str  # proxy | none | tar | buildkitd-8371 | invalid (ED140's export paths)
    detail: str = ""
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "source": self.source, "export": self.export, "detail": self.detail,
                "warning": self.warning}


def proxy_setting(env: Mapping[str, str], cwd: Path, command: EarthlyCommand) -> ProxySetting:
    """Reuses ED140's reading of Earthly's settings (one home for the ParseBool/.env/flag rules)."""
    from earthly_doctor.probes.earthly_settings import evaluate

    settings = evaluate(env, cwd, flags=command.global_flags, product=command.product or "earthly")
    disabled = settings.proxy_disabled
    enabled = None if disabled.value is None else not disabled.value
    warning = None
    if settings.invalid:
        warning = "; ".join(settings.invalid) + "; left as it is"
    return ProxySetting(enabled, disabled.source, settings.export_path, settings.export_detail, warning)


@dataclass
class Preflight:
    outcome: str  # unreachable | reachable | undecided | no-daemon | timeout | skipped
    reason: str  # one line: why this outcome
    proxy: ProxySetting
    command: EarthlyCommand
    variables: dict[str, str] = field(default_factory=dict)  # set these for the build (empty: change nothing)
    report: Report | None = None
    canary_port: int | None = None
    duration_ms: int = 0

    @property
    def line(self) -> str | None:
        """The one line `run` prints, or None when there is nothing worth saying (a healthy host, a skip)."""
        return self.describe("running with {env} for this run", "running the build as is")

    def describe(self, change: str, as_is: str) -> str | None:
        if self.variables:
            names = " and ".join(f"{k}={v}" for k, v in self.variables.items())
            return f"earthly-doctor: {self.reason}: {change.format(env=names)}"
        if self.outcome in ("timeout", "no-daemon", "undecided"):
            return f"earthly-doctor: preflight: {self.reason}; {as_is}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "earthly-doctor/preflight/v1",
            "outcome": self.outcome,
            "reason": self.reason,
            "env": dict(self.variables),
            "proxy": self.proxy.to_dict(),
            "program": self.command.program or None,
            "canary_port": self.canary_port,
            "verdict": self.report.verdict.to_dict() if self.report else None,
            "findings": [f.to_dict() for f in self.report.findings] if self.report else [],
            "duration_ms": self.duration_ms,
        }


def _skip_reason(command: EarthlyCommand, proxy: ProxySetting, assume_export: bool) -> str | None:
    if proxy.enabled is None:
        return proxy.warning or "the proxy setting is invalid"
    if command.exports is False and not assume_export:
        what = f"`{command.program} {command.subcommand}`" if command.subcommand else "no build target"
        return f"{what}: nothing is exported, so the registry proxy is not used"
    if proxy.export == "none":
        return f"no local image export ({proxy.detail})"
    if not proxy.enabled:
        return f"the registry proxy is already disabled ({proxy.source})"
    return None


def _refused_here(verdict: Verdict) -> bool:
    """The verdict proved the daemon cannot reach a proxy on this loopback (directly or through its HTTP proxy)."""
    return verdict.confidence == Confidence.PROVEN and (
        verdict.cause.startswith("proxy-unreachable") or verdict.cause == "daemon-proxy-captures-loopback")


def decide(command: EarthlyCommand, proxy: ProxySetting, report: Report, timeout: float) -> Preflight:
    """The outcome from the verdict engine's cause over the preflight checks (pure: tests feed it findings)."""
    verdict = report.verdict
    daemon, canary = Daemon.among(report.findings), Canary.among(report.findings)
    port = canary.port if canary else None
    by = {f.code: f for f in report.findings}
    daemon_finding, canary_finding = by.get(Daemon.code), by.get(Canary.code)
    if _refused_here(verdict):
        reason = (
            f"the Docker daemon cannot reach 127.0.0.1 in this network namespace (canary on 127.0.0.1:{port} refused; "
            f"{verdict.cause}), so Earthly's registry proxy would be refused"
        )
        if proxy.source and not proxy.source.startswith("default"):
            reason += f" (overriding {proxy.source})"
        return Preflight("unreachable", reason, proxy, command, dict.fromkeys(command.variables, "true"), report, port)
    podman = _podman_https(by, canary_finding)
    if podman is not None:
        reason, disable = podman
        return Preflight("unreachable", reason, proxy, command,
                         dict.fromkeys(command.variables, "true") if disable else {}, report, port)
    if verdict.cause == "healthy" and verdict.confidence == Confidence.PROVEN:
        return Preflight("reachable", f"the daemon reached the canary on 127.0.0.1:{port}: the proxy works here",
                         proxy, command, {}, report, port)
    if verdict.cause == "docker-unreachable" and daemon_finding is not None:
        if daemon is not None and daemon.error_kind == "no-answer":
            return Preflight("timeout", f"the Docker daemon did not answer within {timeout:g}s ({daemon_finding.summary})",
                             proxy, command, {}, report)
        return Preflight("no-daemon", f"no usable Docker daemon ({daemon_finding.summary})", proxy, command, {}, report)
    unfinished = [f for f in (daemon_finding, canary_finding) if f is not None and f.status == Status.ERROR]
    if any(f.fact(TIMED_OUT) for f in unfinished) or any("timed out" in f.summary or "deadline" in f.summary for f in unfinished):
        # Name what was slow: a daemon that never answered /version is not a slow canary.
        what = "the Docker daemon did not answer" if daemon_finding in unfinished else "the canary did not finish"
        return Preflight("timeout", f"{what} within {timeout:g}s", proxy, command, {}, report, port)
    detail = canary_finding.summary if canary_finding is not None else "the canary did not run"
    return Preflight("undecided", detail, proxy, command, {}, report, port)


def _podman_https(by: dict[str, Any], canary: Any) -> tuple[str, bool] | None:
    """(reason, disable the proxy?) when the daemon is Podman and pulled the canary only over HTTPS."""
    from earthly_doctor import verdict_podman

    if canary is None or canary.status != Status.WARN or not verdict_podman.is_podman(by):
        return None
    if not any(str(h).startswith("TLS") for h in canary.fact("requests_seen", []) or []):
        return None
    if "disable-proxy" in verdict_podman.rank(by):
        return (("the daemon is Podman and pulls 127.0.0.1 only over HTTPS, so Earthly's plain-HTTP registry proxy "
                 "would fail; with a remote BuildKit the proxy-off export is a tar stream, which Podman loads"), True)
    return (("the daemon is Podman and pulls 127.0.0.1 only over HTTPS: the registry proxy fails, and with the local "
             "earthly-buildkitd so would the proxy-off pull from 127.0.0.1:8371; use Earthly's podman frontend "
             "(container_frontend: podman-shell) or mark 127.0.0.1 insecure in registries.conf "
             "(earthly-doctor fix)"), False)


def preflight(
    environment: Any,
    command: EarthlyCommand,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    docker_host: str | None = None,
    assume_export: bool = False,
    probe: bool = True,
    checks: list[Any] | None = None,
) -> Preflight:
    """Read the proxy setting; when the proxy would be used, prove (within `timeout`) whether the daemon reaches it."""
    began = time.monotonic()
    proxy = proxy_setting(environment.env, environment.cwd, command)
    skip = _skip_reason(command, proxy, assume_export)
    if skip is None and not probe:
        skip = "preflight turned off (--no-preflight)"
    if skip is not None:
        return Preflight("skipped", skip, proxy, command, duration_ms=int((time.monotonic() - began) * 1000))

    from earthly_doctor.commands.diagnose import DiagnoseRequest, diagnose
    from earthly_doctor.context import Context, Options

    if checks is None:
        from earthly_doctor.plugins import load_checks

        checks = [c for c in load_checks().items if c.code in PREFLIGHT_CHECKS]
    ctx = Context(env=environment, options=Options(timeout=timeout, probe_timeout=timeout, docker_host=docker_host))
    report = diagnose(ctx, DiagnoseRequest(), checks=checks)
    report.command = "preflight"
    result = decide(command, proxy, report, timeout)
    result.duration_ms = int((time.monotonic() - began) * 1000)
    return result


def env_lines(result: Preflight) -> str:
    """`KEY=VALUE` lines (dotenv style, also fine for Jenkins `withEnv` and `>> $GITHUB_ENV`)."""
    return "".join(f"{k}={v}\n" for k, v in result.variables.items())
