"""ED110: the Docker daemon Earthly would use: reachable, permitted, new enough, and where it runs."""

from __future__ import annotations

from dataclasses import dataclass

from earthly_doctor.check import Check, CheckDoc, Published
from earthly_doctor.context import Context
from earthly_doctor.model import Evidence, Finding, Severity

_ADVICE = {
    "no-daemon": "start the Docker daemon, or mount its socket into this container (-v /var/run/docker.sock:/var/run/docker.sock), or set DOCKER_HOST",
    "permission-denied": "add this user to the socket's group (usually `docker`: `usermod -aG docker $USER`, then log in again), "
    "or in a container run with `--group-add $(stat -c %g /var/run/docker.sock)`",
    "no-answer": "the daemon accepted the connection but never answered: check `systemctl status docker` and the daemon's log; "
    "a stale socket file or a stuck daemon both look like this",
    "refused": "nothing listens at that address: start the daemon or correct DOCKER_HOST",
    "api-too-old": "upgrade Docker (Earthly itself needs a current daemon too)",
    "no-context": "create that context (`docker context create`), or unset DOCKER_CONTEXT / "
    "`docker context use default`",
}


@dataclass(frozen=True)
class Daemon(Published):
    """ED110: the daemon Earthly would use: where, what kind, or why it cannot be used."""

    code = "ED110"
    endpoint: str | None = None
    daemon_kind: str | None = None  # local | remote | rootless | desktop
    error_kind: str | None = None  # no-answer | refused | permission | unsupported | … (when not usable)
    daemon_engine: str | None = None  # docker | podman: Podman's Docker-compatible API names its engine


class DockerDaemon(Check):
    code = "ED110"
    title = "Docker daemon reachable"
    category = "docker"
    needs = ("docker",)
    doc = CheckDoc(
        what="Finds the daemon the way the docker CLI does (--docker-host, DOCKER_HOST, the CLI context, the default "
        "socket; TLS from DOCKER_TLS_VERIFY/DOCKER_CERT_PATH or the context's files), connects with explicit "
        "timeouts, and tells Docker, rootless Docker, Podman (rootful or rootless) and Docker Desktop apart from the "
        "API itself (/version Components, /info SecurityOptions and OperatingSystem), and where its loopback is.",
        why="Earthly asks this daemon to `docker pull` every exported image from its registry proxy; "
        "if the daemon is missing, forbidden or stuck, nothing else can be diagnosed, and where it runs decides "
        "whether its 127.0.0.1 is ours.",
        example="ED110 fail: permission denied (unix:///var/run/docker.sock): the Jenkins agent user is not in the docker group.",
        fix="Start the daemon, fix the socket's permissions or mount, or set DOCKER_HOST to the daemon Earthly should use.",
    )

    def run(self, ctx: Context) -> Finding:
        handle = ctx.fact("docker")
        evidence = [
            Evidence("endpoint", handle.endpoint.url, handle.endpoint.source),
        ]
        if handle.endpoint.tls is not None:
            evidence.append(Evidence("tls", handle.endpoint.tls.summary, handle.endpoint.tls.source))
        if not handle.ok and handle.error_kind == "unsupported":
            # Our limitation, not the daemon's: an error (nothing proven), never a "docker-unreachable" verdict.
            evidence.append(Evidence("error", handle.error, "earthly-doctor"))
            return self.error(handle.error, evidence=evidence, remedies=[],
                              published=Daemon(handle.endpoint.url, error_kind=handle.error_kind))
        if not handle.ok:
            evidence.append(Evidence("error", handle.error, "docker API /version"))
            advice = handle.hint or _ADVICE.get(handle.error_kind or "", "")
            return self.fail(
                f"{handle.error}" + (f"; {advice}" if advice else ""),
                severity=Severity.CRITICAL,
                evidence=evidence,
                remedies=[],
                published=Daemon(handle.endpoint.url, error_kind=handle.error_kind),
            )
        evidence += [
            Evidence("server_version", handle.engine_version, "docker API /version"),
            Evidence("daemon_engine", handle.engine, "docker API /version Components (Podman Engine)"),
            Evidence("daemon_flavour", handle.flavour,
                     "docker API /version Components, /info SecurityOptions (name=rootless) and OperatingSystem"),
            Evidence("rootless", handle.rootless, "docker API /info SecurityOptions"),
            Evidence("api_version", handle.api_version, "docker API /version"),
            Evidence("daemon_kind", handle.kind, "docker API /info (SecurityOptions, OperatingSystem) and endpoint"),
            Evidence("daemon_name", handle.info.get("Name"), "docker API /info Name"),
        ]
        where = {"local": "its loopback is this host's", "remote": "another machine or namespace",
                 "rootless": "RootlessKit's own network namespace", "desktop": "a VM"}.get(handle.kind, handle.kind)
        return self.passed(
            f"{handle.flavour} {handle.engine_version} (API {handle.api_version}) at {handle.endpoint.url}, "
            f"{handle.kind} daemon ({where})",
            evidence=evidence,
            published=Daemon(handle.endpoint.url, handle.kind, daemon_engine=handle.engine),
        )
