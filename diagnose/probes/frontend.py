"""Which container frontend Earthly would pick here, and so whether its registry proxy is in play at all.

From Earthly's source (util/containerutil/frontend.go, docker.go; research/earthly.md §2.5):
- `container_frontend` in config.yml: `auto` (the default), `docker-shell` or `podman-shell`.
- `auto` tries docker-shell first (the `docker` binary, usable when `docker info` answers), then podman-shell.
- The podman frontend's scheme is podman-container, and Earthly then skips the proxy: "Registry proxy not supported
  on Podman. Falling back to tar-based outputs." The docker frontend runs the proxy even when `docker` is
  Podman's shim (podman-docker) or DOCKER_HOST names a Podman socket; it only notes "likely Podman" when `docker
  info` reports DockerRootDir under /var/lib/containers/storage.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Mapping

FRONTENDS = ("auto", "docker-shell", "podman-shell")
PROXY_SKIPPED = "Registry proxy not supported on Podman. Falling back to tar-based outputs."


@dataclass(frozen=True)
class Frontend:
    name: str  # docker-shell | podman-shell | none (Earthly would stop: "Unable to detect Docker or Podman")
    source: str  # why: the config key, or what auto-detection found on PATH
    docker: str | None = None  # the `docker` on PATH
    podman: str | None = None  # the `podman` on PATH
    docker_is_podman: bool = False  # that `docker` is Podman's shim (podman-docker) or a link to podman

    @property
    def proxy_in_play(self) -> bool:
        return self.name == "docker-shell"


def is_podman_shim(path: str) -> bool:
    """podman-docker installs /usr/bin/docker as a small script that execs podman; others link docker to podman."""
    try:
        if os.path.basename(os.path.realpath(path)) == "podman":
            return True
        if os.path.getsize(path) > 64 * 1024:
            return False  # the real docker CLI is a large binary; the shim is a few lines
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.startswith(b"#!") and b"podman" in head


def pick(env: Mapping[str, str], configured: str | None, config_source: str) -> Frontend:
    """Earthly's choice for this PATH and config value (an unknown value is Earthly's error, told as such)."""
    path = env.get("PATH", os.defpath)
    docker, podman = shutil.which("docker", path=path), shutil.which("podman", path=path)
    shim = bool(docker and is_podman_shim(docker))
    value = (configured or "auto").strip() or "auto"
    if value == "docker-shell":
        return Frontend("docker-shell", f"container_frontend: docker-shell ({config_source})", docker, podman, shim)
    if value == "podman-shell":
        return Frontend("podman-shell", f"container_frontend: podman-shell ({config_source})", docker, podman, shim)
    if value != "auto":
        return Frontend("none", f"container_frontend: {value!r} ({config_source}) is not a frontend Earthly knows "
                        "(auto, docker-shell, podman-shell)", docker, podman, shim)
    if docker:
        what = f"{docker}, Podman's docker shim" if shim else docker
        return Frontend("docker-shell", f"auto: `docker` on PATH ({what}) is tried first", docker, podman, shim)
    if podman:
        return Frontend("podman-shell", f"auto: no `docker` on PATH, `podman` is ({podman})", docker, podman, shim)
    return Frontend("none", "auto: neither `docker` nor `podman` on PATH", docker, podman, shim)
