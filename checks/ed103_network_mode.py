"""ED103: this container's `--network` mode, as the daemon records it, followed through `container:<id>`."""

from __future__ import annotations

from dataclasses import dataclass

from earthly_doctor.check import Check, CheckDoc, Published
from earthly_doctor.context import Context, FactError
from earthly_doctor.model import Evidence, Finding

_K8S = (
    "Kubernetes runs this container through its CRI, not this daemon. All containers of a pod share the pod's network "
    "namespace: a Docker-in-Docker sidecar in the same pod (DOCKER_HOST=tcp://localhost:2375) shares our loopback; "
    "a node's socket mounted by hostPath serves a daemon in the node's namespace, which shares it only with "
    "hostNetwork: true. Which of the two this is cannot be read from here; ED120 proves it."
)


@dataclass(frozen=True)
class NetworkMode(Published):
    """ED103: the network this container ends up on, and whether the daemon we talk to runs it."""

    code = "ED103"
    final_mode: str | None = None  # host | bridge | none | a network name | container-gone
    daemon_runs_us: bool | None = None
    subject: str | None = None  # beside an agent (the doctor image): the agent container the report is about


def _short(mode: str) -> str:
    """`container:<64 hex>` as Docker's 12-character short id, as `docker ps` shows it."""
    kind, sep, ref = mode.partition(":")
    return f"{kind}:{ref[:12]}" if sep and len(ref) == 64 else mode


class NetworkModeCheck(Check):
    code = "ED103"
    title = "Container network mode"
    category = "container"
    needs = ("container", "network_mode", "docker")
    remedies = ("disable-proxy", "host-network")
    doc = CheckDoc(
        what="Asks the daemon for this container (by the id ED101 found) and reads `HostConfig.NetworkMode`: "
        "`default`/`bridge`, `host`, `none`, `container:<id>` (followed to the container that owns the namespace) "
        "or a user-defined network. In Kubernetes it says what is and is not known.",
        why="Only `--network host` (or sharing a host-networked container's namespace) puts Earthly's proxy on the "
        "loopback the host daemon dials. Any bridge or user-defined network gives the container a loopback of its "
        "own. If the daemon does not know this container at all, it is not the daemon that runs us (Docker-in-Docker, "
        "a remote daemon, Kubernetes).",
        example="ED103 warn: container jenkins-agent (3f2a9c1d0b7e) runs with NetworkMode=default (bridge): "
        "its 127.0.0.1 is its own",
        fix="Run the agent container with `--network host` (Jenkins: `agent { docker { args '--network host' } }`), "
        "or disable the registry proxy.",
    )

    def run(self, ctx: Context) -> Finding:
        ident = ctx.fact("container")
        if not ident.containerized:
            return self.skip("not in a container (ED101)", remedies=[])
        if (skipped := self.skip_without_daemon(ctx)) is not None:
            return skipped
        try:
            nm = ctx.fact("network_mode")
        except FactError as exc:
            if ident.runtime == "kubernetes":
                return self.skip(f"{exc}. {_K8S}", remedies=[], evidence=[Evidence("runtime", "kubernetes", "ED101")])
            return self.skip(f"cannot look this container up: {exc}", remedies=[])
        evidence = [Evidence("lookup", nm.lookup, nm.matched_by)]
        for hop in nm.chain:
            evidence.append(Evidence("network_mode", f"{hop.container}: {hop.mode}", "docker API /containers/<id>/json HostConfig.NetworkMode"))
            if hop.networks:
                evidence.append(Evidence("networks", hop.networks, "docker API /containers/<id>/json NetworkSettings.Networks"))
        if not nm.found:
            evidence.append(Evidence("error", nm.error, "docker API /containers/<id>/json"))
            if ident.runtime == "kubernetes":
                return self.warn(f"{nm.error}. {_K8S}", evidence=evidence, remedies=["disable-proxy"], published=NetworkMode(daemon_runs_us=False))
            return self.warn(
                f"{nm.error}: this daemon does not run this container (Docker-in-Docker, a remote daemon, or another "
                "runtime), so its 127.0.0.1 is not this container's",
                evidence=evidence, remedies=["disable-proxy"], published=NetworkMode(daemon_runs_us=False),
            )
        final = nm.final
        evidence.append(Evidence("final_mode", final, "followed container:<id>"))
        first = nm.chain[0]
        via = f" via {' -> '.join(_short(h.mode) for h in nm.chain[:-1])}" if len(nm.chain) > 1 else ""
        agent = ctx.try_fact("agent")
        if agent is not None:
            # The doctor image beside an agent: the agent, whose namespace we joined, is what the report is about.
            evidence.append(Evidence("agent", agent.label, "the network owner this doctor image joined"))
            owner = nm.chain[-1]
            subject = {"published": NetworkMode(final, daemon_runs_us=True, subject=f"agent container {agent.label}")}
            if final == "host":
                return self.passed(f"agent container {agent.label} (this doctor joined its network) shares the "
                                   f"host's network namespace (NetworkMode={owner.mode})", evidence=evidence,
                                   remedies=[], **subject)
            kind = "bridge" if final == "bridge" else "no network" if final == "none" else f"network {final!r}"
            return self.warn(f"agent container {agent.label} (this doctor joined its network) runs with "
                             f"NetworkMode={owner.mode} ({kind}): its 127.0.0.1 is its own, not the daemon's",
                             evidence=evidence, **subject)
        if final == "host":
            return self.passed(f"container {first.container} shares the host's network namespace (NetworkMode={first.mode}{via})",
                               evidence=evidence, remedies=[], published=NetworkMode(final, daemon_runs_us=True))
        if final == "container-gone":
            return self.warn(f"container {first.container} uses {first.mode}, whose owner is gone: {nm.error}",
                             evidence=evidence, published=NetworkMode(final, daemon_runs_us=True))
        kind = "bridge" if final == "bridge" else "no network" if final == "none" else f"user-defined network {final!r}"
        return self.warn(
            f"container {first.container} runs with NetworkMode={first.mode}{via} ({kind}): its 127.0.0.1 is its own, "
            "not the daemon's",
            evidence=evidence, published=NetworkMode(final, daemon_runs_us=True),
        )
