"""The remedy ids of DESIGN §6a with a title and the one-line instruction shown in every report (reports read it;
it imports nothing, so reports never import the remedies)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemedyInfo:
    id: str
    title: str
    how: str
    # Works only in some topologies (the host's daemon, a published 8371): shown for a finding only when the
    # verdict, which knows the topology, recommends it too.
    topology_bound: bool = False


CATALOG: dict[str, RemedyInfo] = {
    r.id: r
    for r in (
        RemedyInfo(
            "disable-proxy",
            "Disable Earthly's registry proxy",
            "set EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true (Jenkins: environment { EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY = 'true' }), "
            "or pass --disable-remote-registry-proxy before the target; EarthBuild: EARTH_DISABLE_REMOTE_REGISTRY_PROXY",
        ),
        RemedyInfo(
            "host-network",
            "Run Earthly in the daemon's network namespace",
            "start the agent container with --network host (Jenkins: agent { docker { args '--network host' } }); "
            "only when the daemon is the host's",
            topology_bound=True,
        ),
        RemedyInfo(
            "pinned-port",
            "Export through buildkitd's fixed port 8371",
            "disable the proxy and set local_registry_host: 'tcp://127.0.0.1:8371' in ~/.earthly/config.yml "
            "(local earthly-buildkitd with 8371 published only)",
            topology_bound=True,
        ),
        RemedyInfo(
            "daemon-no-proxy",
            "Exempt loopback from the daemon's HTTP proxy",
            "add NO_PROXY=127.0.0.1,localhost to the daemon's proxy settings (systemd drop-in or daemon.json) and restart it",
        ),
        RemedyInfo(
            "podman-frontend",
            "Switch Earthly to its Podman frontend",
            "earthly config global.container_frontend podman-shell (needs the podman binary where earthly runs, "
            "talking to the same Podman); Earthly then never starts the registry proxy",
        ),
        RemedyInfo(
            "podman-insecure-loopback",
            "Mark 127.0.0.1 insecure in Podman's registries.conf",
            "add [[registry]] location = \"127.0.0.1\", insecure = true to the registries.conf the Podman service "
            "reads (/etc/containers/registries.conf, or ~/.config/containers/registries.conf when rootless), then "
            "restart the service",
        ),
        RemedyInfo(
            "earthly-image",
            "Use an image that disables the proxy",
            "use earthly/earthly v0.8.2 or newer, or add ENV EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true to the agent's Dockerfile",
        ),
    )
}


def describe(remedy_id: str) -> RemedyInfo:
    return CATALOG.get(remedy_id, RemedyInfo(remedy_id, remedy_id, ""))
