"""Recorded contexts for the contract test: a /proc fixture, the daemon's recorded answers, an environment and
files, run through the real providers and checks.

`RecordedDaemon` stands in for docker's APIClient with answers recorded from the real dockerd 20.10 this suite
runs (`tests/fixtures/daemon/recorded/`: GET /version, /info, /containers/<id>/json, and the refusal POST
/images/create gives for a closed loopback port). The canary's listener is real: when a scenario says the daemon
shares our loopback, the stand-in sends the daemon's requests (GET /v2/, then the manifest) to the very port the
probe opened, as the daemon would; when it does not, it answers with the recorded refusal for that port.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import docker.errors

from earthly_doctor.context import Context, Options
from earthly_doctor.environment import Environment
from earthly_doctor.probes.docker_client import DaemonHandle
from earthly_doctor.probes.docker_endpoint import Endpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDED = FIXTURES / "daemon" / "recorded"
PROC = FIXTURES / "proc"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def refusal(port: int) -> str:
    """The daemon's own words for a closed loopback port (recorded for port 1, the port substituted)."""
    message = json.loads((RECORDED / "pull-refused.txt").read_text())["message"]
    return message.replace("127.0.0.1:1/", f"127.0.0.1:{port}/").replace("127.0.0.1:1:", f"127.0.0.1:{port}:")


def bridge_container(container_id: str, mode: str = "default") -> dict[str, Any]:
    """The recorded inspect of a real bridge-networked container, served under the fixture's container id."""
    attrs = copy.deepcopy(recorded("container-bridge.json"))
    attrs["Id"] = container_id
    attrs["HostConfig"]["NetworkMode"] = mode
    return attrs


def buildkitd_container(host_port: int = 8371) -> dict[str, Any]:
    """The recorded inspect of a container created with `-p 127.0.0.1:18371:8371`, made to look like a running
    earthly-buildkitd that publishes `host_port` (Earthly publishes 127.0.0.1:8371, research/earthly.md §3)."""
    attrs = copy.deepcopy(recorded("container-buildkitd-created.json"))
    attrs["Name"] = "/earthly-buildkitd"
    attrs["State"].update({"Status": "running", "Running": True})
    attrs["Config"]["Image"] = "earthly/buildkitd:v0.8.15"
    binding = [{"HostIp": "127.0.0.1", "HostPort": str(host_port)}]
    attrs["HostConfig"]["PortBindings"] = {"8371/tcp": binding}
    attrs["NetworkSettings"]["Ports"] = {"8371/tcp": binding}
    return attrs


@dataclass
class RecordedDaemon:
    """docker.APIClient's few calls the probes make, answered from recordings."""

    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    shares_loopback: bool = False  # the daemon dials our 127.0.0.1 (host network) or its own (bridge, remote)
    reachable_ports: set[int] = field(default_factory=set)  # ports on the daemon's loopback that answer (8371)
    timeout: float = 5.0

    def inspect_container(self, name: str) -> dict[str, Any]:
        if name not in self.containers:
            raise docker.errors.NotFound(f"No such container: {name}")
        return self.containers[name]

    def pull(self, repository: str, tag: str | None = None, **_: Any) -> Iterator[dict[str, Any]]:
        port = int(re.match(r"127\.0\.0\.1:(\d+)/", repository).group(1))
        if self.shares_loopback and port not in self.reachable_ports:
            # What the daemon does on a shared loopback: ask our listener for /v2/ and the manifest.
            base = f"http://127.0.0.1:{port}"
            for path in ("/v2/", f"/v2/{repository.split('/', 1)[1]}/manifests/{tag}"):
                try:
                    urllib.request.urlopen(base + path, timeout=2).read()  # noqa: S310 -- http to our own listener
                except OSError:
                    pass
            yield {"error": f"manifest for {repository}:{tag} not found: manifest unknown: manifest unknown"}
            return
        if port in self.reachable_ports:
            yield {"error": f"manifest for {repository}:{tag} not found: manifest unknown: manifest unknown"}
            return
        message = refusal(port)
        raise docker.errors.APIError(message, explanation=message)


def daemon_handle(url: str, source: str, client: RecordedDaemon, **info: Any) -> DaemonHandle:
    """A connected daemon with the recorded /version and /info (fields overridden per scenario)."""
    version = recorded("version.json")
    answers = {**recorded("info.json"), **info}
    return DaemonHandle(Endpoint(url, source), True, version=version, info=answers, client=client)


def recorded_context(proc: str, tmp: Path, *, env: dict[str, str] | None = None, handle: DaemonHandle,
                     files: dict[str, str] | None = None, logs: tuple[str, ...] = ()) -> Context:
    """A context whose facts all come from the real providers, over a /proc fixture, a working directory with
    `files` (relative to it; `home/…` lands in $HOME) and the recorded daemon."""
    root = PROC / proc
    env_file = root / "env.json"
    base = json.loads(env_file.read_text()) if env_file.exists() else {}
    cwd, home = tmp / "work", tmp / "home"
    cwd.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        path = home / name.removeprefix("home/") if name.startswith("home/") else cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    environment = Environment(
        env={**base, "HOME": str(home), "PATH": str(tmp / "no-binaries"), **(env or {})},
        cwd=cwd, proc_root=root / "proc", fs_root=root / "fs", stdout_isatty=False,
    )
    # Only the daemon connection is injected; every other fact comes from its provider.
    return Context(env=environment, options=Options(timeout=15.0, probe_timeout=3.0, logs=logs),
                   overrides={"docker": handle})
