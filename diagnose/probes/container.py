"""ED101's facts: are we in a container, which runtime, which id, and which signals said so.

Layered like systemd's detect_container() and Jenkins' docker-workflow plugin (research/anchors.md §C): strong
signals name the container (mountinfo bind mounts of `/containers/<id>/hostname`, cgroup v1 paths), medium ones
say "some container" (`$container`, `/run/.containerenv`, a non-initial cgroup namespace, Kubernetes' env), and
`/.dockerenv` alone is weak: it can be left behind in a filesystem image. Everything is read under
`proc_root`/`fs_root` so tests run on recorded fixtures.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

# Linux include/linux/proc_ns.h: the initial cgroup namespace has this fixed inode (not so for net or mnt).
HOST_CGROUP_NS_INODE = 0xEFFFFFFB

_HEX64 = r"[0-9a-f]{64}"
# Bind mounts a runtime makes for /etc/hostname, in mountinfo's "root" field (4th column).
_MOUNT_PATTERNS = [
    ("kubernetes", re.compile(rf"/io\.containerd\.grpc\.v1\.cri/sandboxes/({_HEX64})/hostname")),
    ("podman", re.compile(rf"/overlay-containers/({_HEX64})/userdata/hostname")),
    ("docker", re.compile(rf"/containers/({_HEX64})/hostname")),
]
_KUBELET_POD = re.compile(r"/kubelet/pods/([0-9a-f-]{36})/")
# cgroup paths (v1 lines, or v2 with cgroupns=host), most specific first.
_CGROUP_PATTERNS = [
    ("kubernetes", re.compile(rf"kubepods.*?pod([0-9a-f_-]{{36}}).*?(?:cri-containerd-|crio-|docker-|/)({_HEX64})")),
    ("podman", re.compile(rf"libpod-(?:conmon-)?({_HEX64})")),
    ("docker", re.compile(rf"(?:/docker/|docker-)({_HEX64})")),
    ("lxc", re.compile(r"/lxc(?:\.payload)?[./]([^/\s]+)")),
]


@dataclass(frozen=True)
class Signal:
    name: str  # mountinfo | cgroup | cgroupns | dockerenv | containerenv | container-env | kubernetes-env | hostname
    value: str
    source: str  # the file or variable it came from
    weight: str  # strong | medium | weak | against


@dataclass
class ContainerIdentity:
    containerized: bool
    runtime: str | None = None  # docker | podman | kubernetes | lxc | systemd-nspawn | <$container> | None
    container_id: str | None = None
    confidence: str = "unknown"  # certain | likely | possible
    cgroup_version: int | None = None
    pod_uid: str | None = None  # Kubernetes: the pod, from kubelet mounts or the cgroup path
    pod_sandbox_id: str | None = None  # Kubernetes: the sandbox (pause) container whose netns the pod shares
    hostname_owner_id: str | None = None  # the container whose /etc/hostname we see, when it is not us
    signals: list[Signal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fired(self) -> list[Signal]:
        return [s for s in self.signals if s.weight != "against"]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def ns_inode(proc_root: Path, pid: str | int, kind: str) -> int | None:
    """The namespace inode from the `kind:[inode]` link target (works on fixtures, where it is a dangling symlink)."""
    try:
        target = os.readlink(proc_root / str(pid) / "ns" / kind)
    except OSError:
        return None
    m = re.search(r"\[(\d+)\]", target)
    return int(m.group(1)) if m else None


def _mountinfo_signals(text: str, source: str, ident: ContainerIdentity) -> None:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        root, point = parts[3], parts[4]
        if point in ("/etc/hostname", "/etc/hosts"):
            m = _KUBELET_POD.search(root)
            if m and not ident.pod_uid:
                ident.pod_uid = m.group(1)
                ident.signals.append(Signal("mountinfo", f"{root} on {point}", source, "strong"))
        if point != "/etc/hostname":
            continue
        for runtime, pattern in _MOUNT_PATTERNS:
            m = pattern.search(root)
            if m:
                ident.signals.append(Signal("mountinfo", f"{root} on {point}", source, "strong"))
                if runtime == "kubernetes":
                    ident.pod_sandbox_id = m.group(1)
                    ident.runtime = "kubernetes"
                else:
                    ident.runtime = ident.runtime or runtime
                    ident.container_id = ident.container_id or m.group(1)
                return


def _cgroup_signals(text: str, source: str, ident: ContainerIdentity) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    ident.cgroup_version = 2 if lines and all(line.startswith("0::") for line in lines) else 1 if lines else None
    for line in lines:
        path = line.split(":", 2)[-1]
        for runtime, pattern in _CGROUP_PATTERNS:
            m = pattern.search(path)
            if not m:
                continue
            ident.signals.append(Signal("cgroup", line, source, "strong"))
            if runtime == "kubernetes":
                ident.runtime = "kubernetes"
                ident.pod_uid = ident.pod_uid or m.group(1).replace("_", "-")
                ident.container_id = ident.container_id or m.group(2)
            elif runtime == "lxc":
                ident.runtime = ident.runtime or "lxc"
                ident.container_id = ident.container_id or m.group(1)
            else:
                ident.runtime = ident.runtime or runtime
                ident.container_id = ident.container_id or m.group(1)
            return


def _containerenv(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def detect_container(proc_root: Path, fs_root: Path, env: Mapping[str, str]) -> ContainerIdentity:  # noqa: C901, PLR0912 -- grandfathered; split when next changed
    ident = ContainerIdentity(containerized=False)
    # Our own mount namespace (not PID 1's: with --pid=host, /proc/1 is the host's init).
    mountinfo = _read(proc_root / "self" / "mountinfo")
    if mountinfo is not None:
        _mountinfo_signals(mountinfo, str(proc_root / "self" / "mountinfo"), ident)
    cgroup = _read(proc_root / "self" / "cgroup")
    if cgroup is not None:
        mount_id, ident.container_id = ident.container_id, None
        _cgroup_signals(cgroup, str(proc_root / "self" / "cgroup"), ident)
        # With --network container:<x> Docker bind-mounts x's hostname file, so the mount names the namespace's
        # owner; the cgroup path (v1) names us.
        if ident.container_id and mount_id and ident.container_id != mount_id:
            ident.hostname_owner_id = mount_id
            ident.notes.append(f"/etc/hostname is container {mount_id[:12]}'s: this container shares its namespaces "
                               "(--network container:…)")
        ident.container_id = ident.container_id or mount_id

    cg_ns = ns_inode(proc_root, "self", "cgroup")
    if cg_ns is not None:
        if cg_ns != HOST_CGROUP_NS_INODE:
            ident.signals.append(Signal("cgroupns", f"cgroup:[{cg_ns}] is not the initial namespace", str(proc_root / "self/ns/cgroup"), "medium"))
        else:
            ident.signals.append(Signal("cgroupns", f"cgroup:[{cg_ns}] is the initial (host) namespace", str(proc_root / "self/ns/cgroup"), "against"))

    containerenv = fs_root / "run" / ".containerenv"
    if containerenv.exists():
        values = _containerenv(_read(containerenv) or "")
        ident.signals.append(Signal("containerenv", str(containerenv), str(containerenv), "medium"))
        ident.runtime = ident.runtime or "podman"
        if values.get("id") and not ident.container_id:
            ident.container_id = values["id"]
    if env.get("container"):
        ident.signals.append(Signal("container-env", env["container"], "$container", "medium"))
        ident.runtime = ident.runtime or ("podman" if env["container"] == "podman" else env["container"])
    if env.get("KUBERNETES_SERVICE_HOST"):
        ident.signals.append(Signal("kubernetes-env", "KUBERNETES_SERVICE_HOST is set", "$KUBERNETES_SERVICE_HOST", "medium"))
        if ident.runtime in (None, "docker"):
            ident.runtime = "kubernetes"
    dockerenv = fs_root / ".dockerenv"
    if dockerenv.exists():
        ident.signals.append(Signal("dockerenv", str(dockerenv), str(dockerenv), "weak"))

    weights = {s.weight for s in ident.signals}
    if "strong" in weights:
        ident.containerized, ident.confidence = True, "certain"
    elif "medium" in weights:
        ident.containerized, ident.confidence = True, "likely"
    elif "weak" in weights:
        if "against" in weights and ident.cgroup_version == 2:
            # Docker on cgroup v2 gives containers their own cgroup namespace, so the initial one argues against.
            ident.containerized, ident.confidence = False, "likely"
            ident.notes.append("/.dockerenv exists but the cgroup namespace is the host's: probably a leftover in the filesystem image")
        elif "against" in weights:
            # On cgroup v1 Docker shares the host's cgroup namespace, so only the missing /docker/<id> paths argue against.
            ident.containerized, ident.confidence = False, "possible"
            ident.notes.append("/.dockerenv exists but no cgroup path or mount names a container: probably a leftover in the filesystem image")
        else:
            ident.containerized, ident.confidence = True, "possible"
            ident.runtime = ident.runtime or "docker"
    else:
        ident.confidence = "likely" if mountinfo is not None or cgroup is not None else "unknown"
    if not ident.containerized:
        ident.runtime = None
    elif ident.runtime is None:
        ident.runtime = "unknown"
    return ident


def hostname(fs_root: Path, env: Mapping[str, str]) -> str | None:
    name = (_read(fs_root / "etc" / "hostname") or "").strip() or env.get("HOSTNAME", "")
    return name or None
