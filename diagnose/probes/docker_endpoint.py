"""Which Docker daemon would `docker` (and so Earthly) talk to: flag, DOCKER_HOST, CLI context, default socket."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from earthly_doctor.environment import home_dir

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Endpoint:
    url: str  # unix:///…, tcp://host:port, ssh://…, npipe://…
    source: str  # where it came from, for the report's evidence
    problem: str | None = None  # why the docker CLI (and so Earthly) would stop before dialling, e.g. a missing context

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


def _context_host(env: Mapping[str, str], name: str) -> tuple[bool, str | None]:
    """(found, host): the docker CLI stores a context's metadata under contexts/meta/<sha256(name)>/meta.json."""
    config = _config_dir(env)
    if config is None:
        return False, None
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False, None
    try:
        return True, data["Endpoints"]["docker"]["Host"] or None
    except (KeyError, TypeError):
        return True, None


def _default_port(url: str, env: Mapping[str, str]) -> str:
    """tcp://host means tcp://host:2375 to the docker CLI (2376 with TLS); the SDK rejects it without a port."""
    scheme, sep, rest = url.partition("://")
    if scheme != "tcp" or not sep:
        return url
    hostport, slash, path = rest.partition("/")
    after_ipv6 = hostport.rsplit("]", 1)[-1] if hostport.startswith("[") else hostport
    if hostport and ":" not in after_ipv6:
        hostport += ":2376" if env.get("DOCKER_TLS_VERIFY") else ":2375"
    return f"{scheme}://{hostport}{slash}{path}"


def find_endpoint(env: Mapping[str, str], override: str | None = None) -> Endpoint:
    if override:
        return Endpoint(_default_port(override, env), "--docker-host")
    if env.get("DOCKER_HOST"):
        return Endpoint(_default_port(env["DOCKER_HOST"], env), "DOCKER_HOST")
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
        found, host = _context_host(env, name)
        if host:
            return Endpoint(host, f"{source}: {name}")
        if found:
            return Endpoint(DEFAULT_SOCKET, f"{source}: {name} (no docker endpoint: the default socket)")
        # The docker CLI stops here ("context not found") instead of falling back, so Earthly's pulls would too.
        where = config / "contexts" / "meta" if config is not None else "no docker config directory (HOME unset)"
        return Endpoint(DEFAULT_SOCKET, f"{source}: {name}",
                        f"docker context {name!r} ({source}) not found in {where}: the docker CLI, and so Earthly, "
                        "stops before reaching any daemon")
    return Endpoint(DEFAULT_SOCKET, "default socket")
