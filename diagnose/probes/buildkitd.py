"""ED131's facts: the `earthly-buildkitd` container on this daemon, its published 8371, and whether the daemon
reaches that port on its own loopback (the path a disabled proxy with a local BuildKit exports through)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from earthly_doctor.probes.reach import Reach, daemon_reaches


@dataclass
class Buildkitd:
    name: str
    port: int
    found: bool = False
    running: bool = False
    status: str = ""
    image: str = ""
    bindings: list[str] = field(default_factory=list)  # "127.0.0.1:8371" for <port>/tcp
    published: bool = False
    reach: Reach | None = None
    error: str | None = None


def inspect_buildkitd(client: Any, name: str, port: int, timeout: float) -> Buildkitd:
    import docker.errors

    result = Buildkitd(name, port)
    try:
        attrs = client.inspect_container(name)
    except docker.errors.NotFound:
        return result
    result.found = True
    state = attrs.get("State") or {}
    result.running = bool(state.get("Running"))
    result.status = str(state.get("Status", ""))
    result.image = str((attrs.get("Config") or {}).get("Image", ""))
    ports = (attrs.get("NetworkSettings") or {}).get("Ports") or (attrs.get("HostConfig") or {}).get("PortBindings") or {}
    for binding in ports.get(f"{port}/tcp") or []:
        host_ip, host_port = binding.get("HostIp") or "0.0.0.0", binding.get("HostPort")
        result.bindings.append(f"{host_ip}:{host_port}")
        if str(host_port) == str(port) and host_ip in ("127.0.0.1", "0.0.0.0", ""):
            result.published = True
    if result.running and result.published:
        result.reach = daemon_reaches(client, port, timeout)
    return result
