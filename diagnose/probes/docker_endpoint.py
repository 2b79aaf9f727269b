"""Which Docker daemon would `docker` (and so Earthly) talk to: flag, DOCKER_HOST, CLI context, default socket."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from earthly_doctor.environment import home_dir
from earthly_doctor.probes.docker_tls import TLSMaterial, tls_from_context, tls_from_env

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Endpoint:
    url: str  # unix:///…, tcp://host:port, ssh://…, npipe://…
    source: str  # where it came from, for the report's evidence
    problem: str | None = None  # why the docker CLI (and so Earthly) would stop before dialling, e.g. a missing context
    tls: TLSMaterial | None = None  # tcp:// only: the TLS the docker CLI would use (None: plain HTTP)

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0] if "://" in self.url else "unix"

    @property
    def socket_path(self) -> str | None:
        if self.scheme == "unix":
            return self.url.split("://", 1)[1] if "://" in self.url else self.url
        return None

    @property
    def is_remote(self) -> bool:
        """tcp:// and ssh:// endpoints are another machine or namespace as far as loopback is concerned."""
        if self.scheme in {"tcp", "http", "https"}:
            host = self.url.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
            return host not in {"127.0.0.1", "localhost", "::1"}
        return self.scheme == "ssh"


def _config_dir(env: Mapping[str, str]) -> Path | None:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    home = home_dir(env)
    return home / ".docker" if home is not None else None


def _context(env: Mapping[str, str], name: str) -> tuple[bool, str | None, TLSMaterial | None]:
    """(found, host, tls): the docker CLI keeps a context's metadata in contexts/meta/<sha256(name)>/meta.json and
    its TLS files in contexts/tls/<sha256(name)>/docker/."""
    config = _config_dir(env)
    if config is None:
        return False, None, None
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest / "meta.json"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False, None, None
    try:
        docker = data["Endpoints"]["docker"]
        host = docker["Host"] or None
    except (KeyError, TypeError):
        return True, None, None
    skip = bool(docker.get("SkipTLSVerify")) if isinstance(docker, dict) else False
    tls = tls_from_context(config / "contexts" / "tls" / digest / "docker", name, skip)
    return True, host, tls


def _default_port(url: str, tls: bool) -> str:
    """tcp://host means tcp://host:2375 to the docker CLI (2376 with TLS); the SDK rejects it without a port."""
    scheme, sep, rest = url.partition("://")
    if scheme != "tcp" or not sep:
        return url
    hostport, slash, path = rest.partition("/")
    after_ipv6 = hostport.rsplit("]", 1)[-1] if hostport.startswith("[") else hostport
    if hostport and ":" not in after_ipv6:
        hostport += ":2376" if tls else ":2375"
    return f"{scheme}://{hostport}{slash}{path}"


def _from_host(url: str, source: str, env: Mapping[str, str]) -> Endpoint:
    """The default context: -H or DOCKER_HOST, with TLS from DOCKER_TLS/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH."""
    tls = tls_from_env(env, _config_dir(env))
    endpoint = Endpoint(_default_port(url, tls is not None), source)
    if tls is None:
        return endpoint
    # Only tcp:// speaks TLS; for unix:// the settings are still read, and a missing ca.pem still stops the CLI.
    return Endpoint(endpoint.url, source, tls.problem, tls if endpoint.scheme == "tcp" or tls.problem else None)


def find_endpoint(env: Mapping[str, str], override: str | None = None) -> Endpoint:
    """The docker CLI's order: -H (--docker-host), DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext."""
    if override:
        return _from_host(override, "--docker-host", env)
    if env.get("DOCKER_HOST"):
        return _from_host(env["DOCKER_HOST"], "DOCKER_HOST", env)
    name = env.get("DOCKER_CONTEXT")
    source = "DOCKER_CONTEXT"
    config = _config_dir(env)
    if not name and config is not None:
        try:
            name = json.loads((config / "config.json").read_text()).get("currentContext")
            source = f"docker CLI context (currentContext in {config / 'config.json'})"
        except (OSError, ValueError, AttributeError):
            name = None
    if name and name != "default":
        found, host, tls = _context(env, name)
        if host:
            scheme_tcp = host.startswith("tcp://")
            return Endpoint(_default_port(host, tls is not None), f"{source}: {name}", None,
                            tls if scheme_tcp else None)
        if found:
            return Endpoint(DEFAULT_SOCKET, f"{source}: {name} (no docker endpoint: the default socket)")
        # The docker CLI stops here ("context not found") instead of falling back, so Earthly's pulls would too.
        where = config / "contexts" / "meta" if config is not None else "no docker config directory (HOME unset)"
        return Endpoint(DEFAULT_SOCKET, f"{source}: {name}",
                        f"docker context {name!r} ({source}) not found in {where}: the docker CLI, and so Earthly, "
                        "stops before reaching any daemon")
    return Endpoint(DEFAULT_SOCKET, "default socket")
