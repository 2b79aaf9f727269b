"""When each remedy works: one rule per remedy, read by the verdict (to rank what it recommends) and by `fix` (to
refuse what would not help). The rules read the topology the verdict engine established, never findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

BRIDGE = "proxy-unreachable-bridge-container"
FROM_LOG = "proxy-unreachable"  # seen in a log: the topology is not known
DAEMON_PROXY = "daemon-proxy-captures-loopback"
INSECURE_LOOPBACK = "insecure-loopback-removed"
PODMAN_INSECURE = "podman-loopback-not-insecure"


@dataclass(frozen=True)
class Topology:
    """What the diagnosis established about where Earthly and the daemon run. None means not known."""

    cause: str = "unknown"
    confidence: str = "unknown"
    daemon_kind: str | None = None  # local | remote | rootless | desktop (ED110)
    daemon_engine: str | None = None  # docker | podman (ED110)
    network_mode: str | None = None  # this container's --network (ED103)
    in_container: bool | None = None  # ED101
    buildkitd_8371: bool | None = None  # earthly-buildkitd publishes 8371 on the daemon's loopback (ED131)
    buildkit_local: bool | None = None  # Earthly would use the local earthly-buildkitd, not a remote BuildKit (ED140)
    daemon_proxy: bool | None = None  # the daemon's HTTP proxy captures 127.0.0.1 (ED111)
    image_has_env: bool | None = None  # the earthly/earthly image already disables the proxy (ED140)
    ranking: tuple[str, ...] = ()  # the verdict's remedies, best first

    @property
    def proxy_unreachable(self) -> bool:
        return self.cause.startswith("proxy-unreachable") or self.cause in (INSECURE_LOOPBACK, PODMAN_INSECURE)

    @property
    def loopback_refused(self) -> bool:
        """The daemon is refused at Earthly's loopback port (not a TLS or daemon-proxy problem)."""
        return self.cause.startswith("proxy-unreachable")


def _daemon_no_proxy(t: Topology) -> bool:
    return t.cause == DAEMON_PROXY or t.daemon_proxy is True


def _disable_proxy(t: Topology) -> bool:
    # Without the proxy, exports go through buildkitd's 8371 or a tar stream: no pull from Earthly's loopback.
    return t.proxy_unreachable or t.cause == DAEMON_PROXY


def _host_network(t: Topology) -> bool:
    # Conservative: only when the daemon is known to be this host's and we are not on the host network already.
    return t.cause in (BRIDGE, FROM_LOG) and t.daemon_kind == "local" and t.network_mode != "host"


def _earthly_image(t: Topology) -> bool:
    # The image matters only when Earthly itself runs in a container (a bridge container when ED101 did not say).
    in_container = t.in_container is True or (t.in_container is None and t.cause in (BRIDGE, FROM_LOG))
    return t.loopback_refused and in_container and t.image_has_env is not True


def _pinned_port(t: Topology) -> bool:
    # local_registry_host is ignored with a remote BuildKit, so a known-remote one rules this out.
    return t.loopback_refused and t.buildkitd_8371 is True and t.buildkit_local is not False


def _podman_frontend(t: Topology) -> bool:
    # Earthly's podman frontend never starts the registry proxy, whatever the namespaces.
    return t.daemon_engine == "podman" and t.proxy_unreachable


def _podman_insecure_loopback(t: Topology) -> bool:
    return t.daemon_engine == "podman" and t.cause == PODMAN_INSECURE


# Best first: exempting loopback at the daemon fixes the cause; turning the proxy off works everywhere; the host
# network only for the host's daemon; the image and the pinned port are narrower.
RULES: dict[str, Callable[[Topology], bool]] = {
    "daemon-no-proxy": _daemon_no_proxy,
    "disable-proxy": _disable_proxy,
    "host-network": _host_network,
    "earthly-image": _earthly_image,
    "pinned-port": _pinned_port,
    # Podman's own, ranked for Podman by verdict_podman.adjust.
    "podman-frontend": _podman_frontend,
    "podman-insecure-loopback": _podman_insecure_loopback,
}


def applies(remedy_id: str, topology: Topology) -> bool:
    rule = RULES.get(remedy_id)
    return rule is not None and rule(topology)


def rank(topology: Topology) -> list[str]:
    """The built-in remedies that work in this topology, best first (DESIGN §6a)."""
    return [rid for rid, rule in RULES.items() if rule(topology)]
