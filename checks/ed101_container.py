"""ED101: does this process run in a container, which runtime, which id, and which signals said so."""

from __future__ import annotations

from dataclasses import dataclass

from earthly_doctor.check import Check, CheckDoc, Published
from earthly_doctor.context import Context
from earthly_doctor.model import Evidence, Finding


@dataclass(frozen=True)
class Container(Published):
    """ED101: whether this process runs in a container, which runtime and which id."""

    code = "ED101"
    containerized: bool | None = None
    runtime: str | None = None
    container_id: str | None = None


class ContainerIdentity(Check):
    code = "ED101"
    title = "Container detection"
    category = "container"
    needs = ("container",)
    doc = CheckDoc(
        what="Layered container detection from this process's own view: `/proc/self/mountinfo` (the runtime's bind "
        "mount of `/containers/<id>/hostname`, Podman's `overlay-containers/<id>`, Kubernetes' sandbox and kubelet pod "
        "mounts), cgroup v1 paths (`/docker/<id>`, `docker-<id>.scope`, `kubepods…`, `libpod-<id>`), a cgroup v2 "
        "namespace other than the initial one, `/run/.containerenv`, `$container`, `KUBERNETES_SERVICE_HOST`, and "
        "`/.dockerenv` (weak: it can be left in a filesystem image). Reports the runtime, the container id and "
        "every signal that fired.",
        why="Earthly's registry proxy listens on the loopback of the namespace `earthly` runs in. In a container "
        "(the usual Jenkins docker agent) that loopback is the container's own unless it shares the daemon's "
        "network, so the daemon's `docker pull 127.0.0.1:<port>` is refused. The container id lets ED103 ask the "
        "daemon for the container's network mode.",
        example="ED101 pass: in a docker container 2226564adcc5 (certain; signals: mountinfo, cgroup, dockerenv)",
        fix="Nothing to fix by itself; it explains the topology. See ED103 and ED120.",
    )

    def run(self, ctx: Context) -> Finding:
        ident = ctx.fact("container")
        evidence = [Evidence(f"signal:{s.name}", s.value, f"{s.source} ({s.weight})") for s in ident.signals]
        evidence += [
            Evidence("containerized", ident.containerized, "layered detection"),
            Evidence("confidence", ident.confidence, "layered detection"),
            Evidence("cgroup_version", ident.cgroup_version, "/proc/self/cgroup"),
        ]
        if ident.runtime:
            evidence.append(Evidence("runtime", ident.runtime, "layered detection"))
        if ident.container_id:
            evidence.append(Evidence("container_id", ident.container_id, "mountinfo / cgroup path / .containerenv"))
        if ident.pod_uid:
            evidence.append(Evidence("pod_uid", ident.pod_uid, "kubelet mount / kubepods cgroup"))
        if ident.pod_sandbox_id:
            evidence.append(Evidence("pod_sandbox_id", ident.pod_sandbox_id, "CRI sandbox hostname mount"))
        if ident.hostname_owner_id:
            evidence.append(Evidence("hostname_owner_id", ident.hostname_owner_id, "mountinfo /etc/hostname (container: network mode)"))
        for note in ident.notes:
            evidence.append(Evidence("note", note, "layered detection"))
        fired = sorted({s.name for s in ident.fired})
        if not ident.containerized:
            extra = f" ({ident.notes[0]})" if ident.notes else ""
            return self.passed(f"not in a container ({ident.confidence}){extra}", evidence=evidence,
                               published=Container(containerized=False))
        what = f"in a {ident.runtime} container" + (f" {ident.container_id[:12]}" if ident.container_id else "")
        if ident.runtime == "kubernetes":
            what = "in a Kubernetes pod" + (f" {ident.pod_uid}" if ident.pod_uid else "") + (
                f", container {ident.container_id[:12]}" if ident.container_id else "")
        return self.passed(f"{what} ({ident.confidence}; signals: {', '.join(fired)})", evidence=evidence,
                           published=Container(True, ident.runtime, ident.container_id))
