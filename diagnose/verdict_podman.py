"""Podman in Earthly's terms: self-contained predicates and verdicts the verdict engine plugs in.

From Earthly's source (research/earthly.md §2.5, util/containerutil): with its podman frontend Earthly never starts
the registry proxy ("Registry proxy not supported on Podman"), so the failure cannot happen; with the docker CLI
against Podman (podman-docker's shim, or DOCKER_HOST at a Podman socket) the proxy runs, and Podman pulls from
127.0.0.1 over HTTPS unless registries.conf marks it insecure (measured with Podman 4.3: the canary sees only a TLS
ClientHello, the pull ends "tls: first record does not look like a TLS handshake").
"""

from __future__ import annotations

from earthly_doctor.model import Confidence, Finding, Verdict

CAUSE = "podman-loopback-not-insecure"
FRONTEND = "podman-frontend"  # container_frontend: podman-shell
REGISTRIES = "podman-insecure-loopback"  # [[registry]] location = "127.0.0.1", insecure = true
DOCKERD_ONLY = ("daemon-no-proxy",)  # dockerd's systemd/daemon.json advice means nothing to Podman


def is_podman(by: dict[str, Finding]) -> bool:
    daemon = by.get("ED110")
    return bool(daemon and daemon.fact("daemon_engine") == "podman")


def _flavour(by: dict[str, Finding]) -> str:
    daemon = by.get("ED110")
    return str(daemon.fact("daemon_flavour") or "Podman") if daemon else "Podman"


def _buildkit_remote(by: dict[str, Finding]) -> bool:
    settings = by.get("ED140")
    return bool(settings and settings.fact("buildkit_local") is False)


def rank(by: dict[str, Finding]) -> list[str]:
    """Best first, only what works on Podman: with a remote or embedded BuildKit the proxy-off export is a tar
    stream (podman load is fine); with the local earthly-buildkitd it is a pull from 127.0.0.1:8371, which the same
    Podman also makes over HTTPS, so there disable-proxy alone does not help and is left out."""
    if _buildkit_remote(by):
        return ["disable-proxy", FRONTEND, REGISTRIES]
    return [FRONTEND, REGISTRIES]


def adjust(cause: str, remedies: list[str], by: dict[str, Finding]) -> list[str]:
    """A proxy-unreachable ranking made Podman's: no dockerd-only advice, the podman frontend right after
    disable-proxy (it skips the proxy whatever the namespaces)."""
    if not is_podman(by):
        return remedies
    kept = [r for r in remedies if r not in DOCKERD_ONLY and r != FRONTEND]
    if cause.startswith("proxy-unreachable"):
        kept.insert(1 if kept[:1] == ["disable-proxy"] else 0, FRONTEND)
    return kept


def tls_only(by: dict[str, Finding], chain: list[str], latent: frozenset[str] | set[str]) -> Verdict:
    """The canary saw only TLS from a Podman daemon: the docker-frontend failure, or nothing with the podman one."""
    settings = by.get("ED140")
    export = settings.fact("export_path") if settings else None
    frontend = settings.fact("container_frontend") if settings else None
    name = _flavour(by)
    if export in latent:
        why = ("Earthly's podman frontend never starts the registry proxy" if frontend == "podman-shell"
               else f"Earthly would not use the proxy ({export} export)")
        return Verdict(
            "healthy",
            f"{name} pulls from 127.0.0.1 only over HTTPS, but {why}, so the failure cannot happen here. With the "
            "docker CLI as Earthly's frontend it would.",
            Confidence.LIKELY, [], chain)
    via = "Podman's docker shim" if settings and settings.fact("docker_is_podman_shim") else "the docker CLI"
    return Verdict(
        CAUSE,
        f"The daemon is {name}. Earthly drives it through {via} (docker frontend), so it starts its registry proxy, "
        "and Podman pulls 127.0.0.1:<port> over HTTPS because registries.conf does not mark 127.0.0.1 insecure: "
        "every SAVE IMAGE fails (proven: the canary saw only a TLS handshake). The fix is on Earthly's side (its "
        "podman frontend never starts the proxy) or in Podman's registries.conf.",
        Confidence.PROVEN, rank(by), chain)
