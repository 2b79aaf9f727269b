"""ED103's facts: this container's `--network` as the daemon records it (`HostConfig.NetworkMode`), followed
through `container:<id>` to the namespace it finally shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_HOPS = 5  # container:<id> chains are short; a loop must not spin


@dataclass
class Hop:
    container: str  # name (id prefix)
    mode: str  # HostConfig.NetworkMode
    networks: list[str] = field(default_factory=list)  # NetworkSettings.Networks keys


@dataclass
class NetworkMode:
    lookup: str  # the id or name we asked the daemon for
    matched_by: str  # container id (mountinfo/cgroup) | hostname
    found: bool
    chain: list[Hop] = field(default_factory=list)
    error: str | None = None

    @property
    def final(self) -> str | None:
        """host | bridge | none | <user-defined network> | container-gone: the namespace the chain ends in."""
        if not self.chain:
            return None
        mode = self.chain[-1].mode
        if mode == "default":
            return "bridge"
        if mode.startswith("container:"):
            return "container-gone"
        return mode

    @property
    def shares_daemon_netns(self) -> bool | None:
        final = self.final
        if final is None or final == "container-gone":
            return None
        return final == "host"


def _describe(attrs: dict[str, Any]) -> Hop:
    host_config = attrs.get("HostConfig") or {}
    networks = list(((attrs.get("NetworkSettings") or {}).get("Networks") or {}).keys())
    return Hop(
        container=f"{(attrs.get('Name') or '').lstrip('/')} ({(attrs.get('Id') or '')[:12]})",
        mode=str(host_config.get("NetworkMode") or "default"),
        networks=networks,
    )


def resolve(client: Any, container: str, matched_by: str) -> NetworkMode:
    """Inspect `container`, then every `container:<id>` it points at; a 404 means this daemon does not run us."""
    import docker.errors

    result = NetworkMode(container, matched_by, False)
    current = container
    for _ in range(MAX_HOPS):
        try:
            attrs = client.inspect_container(current)
        except docker.errors.NotFound:
            if result.chain:
                result.chain.append(Hop(current, f"container:{current}"))
                result.error = f"{current} (the network owner) no longer exists on this daemon"
            else:
                result.error = f"the daemon knows no container {current}"
            return result
        result.found = True
        hop = _describe(attrs)
        result.chain.append(hop)
        if not hop.mode.startswith("container:"):
            return result
        current = hop.mode.split(":", 1)[1]
    result.error = f"more than {MAX_HOPS} container:<id> hops"
    return result
