"""Which Docker daemon would `docker` (and so Earthly) talk to: flag, DOCKER_HOST, CLI context, default socket."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Endpoint:
    url: str  # unix:///…, tcp://host:port, ssh://…, npipe://…
    source: str  # where it came from, for the report's evidence

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


def _config_dir(env: Mapping[str, str]) -> Path:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path(env.get("HOME", str(Path.home()))) / ".docker"


def _context_host(env: Mapping[str, str], name: str) -> str | None:
    """The docker CLI stores a context's metadata under contexts/meta/<sha256(name)>/meta.json."""
    meta = _config_dir(env) / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    try:
        data = json.loads(meta.read_text())
        return data["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_endpoint(env: Mapping[str, str], override: str | None = None) -> Endpoint:
    if override:
        return Endpoint(override, "--docker-host")
    if env.get("DOCKER_HOST"):
        return Endpoint(env["DOCKER_HOST"], "DOCKER_HOST")
    name = env.get("DOCKER_CONTEXT")
    source = "DOCKER_CONTEXT"
    if not name:
        try:
            name = json.loads((_config_dir(env) / "config.json").read_text()).get("currentContext")
            source = f"docker CLI context (currentContext in {_config_dir(env) / 'config.json'})"
        except (OSError, ValueError, AttributeError):
            name = None
    if name and name != "default":
        host = _context_host(env, name)
        if host:
            return Endpoint(host, f"{source}: {name}")
    return Endpoint(DEFAULT_SOCKET, "default socket")
