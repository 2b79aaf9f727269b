"""The agent container a doctor running beside it diagnoses: the container whose network namespace we joined.

The doctor image runs with `--network container:<agent>` (and usually `--pid container:<agent>`): its canary then
sits on the agent's loopback, so the proof is the agent's, but the report must name the agent, not the doctor's own
container, and read Earthly's settings from the agent's environment (its `Config.Env`), not ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from earthly_doctor.probes.network_mode import NetworkMode

# Set by the image's Dockerfile: only a doctor that was started to look at a neighbour treats it as the subject
# (a Jenkins docker agent that itself joined another container's network is still the place Earthly runs).
IMAGE_MARKER = "EARTHLY_DOCTOR_IMAGE"


@dataclass
class AgentContainer:
    """The container we share a network namespace with (the one Earthly runs in)."""

    id: str
    name: str
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    image: str = ""
    shares_pid: bool = False  # our PidMode is container:<agent>: its processes are visible in our /proc

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id[:12]})" if self.name else self.id[:12]


def env_list_to_dict(items: list[str] | None) -> dict[str, str]:
    """Docker's `Config.Env` (`KEY=value` strings; a bare KEY means unset) as a mapping."""
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if sep and key:
            result[key] = value
    return result


def beside_agent(env: Mapping[str, str]) -> bool:
    return env.get(IMAGE_MARKER, "") not in ("", "0")


def find_agent(client: Any, mode: NetworkMode) -> AgentContainer | None:
    """The network owner at the end of our `container:<id>` chain, inspected; None when we own our namespace."""
    if not mode.found or len(mode.chain) < 2:
        return None
    import docker.errors

    owner_ref = mode.chain[-2].mode.split(":", 1)[1]
    try:
        ours = client.inspect_container(mode.lookup)
        attrs = client.inspect_container(owner_ref)
    except docker.errors.DockerException:
        return None
    config = attrs.get("Config") or {}
    agent_id = str(attrs.get("Id") or owner_ref)
    name = str(attrs.get("Name") or "").lstrip("/")
    pid_mode = str((ours.get("HostConfig") or {}).get("PidMode") or "")
    pid_target = pid_mode.split(":", 1)[1] if pid_mode.startswith("container:") else ""
    shared_pid = bool(pid_target) and (agent_id.startswith(pid_target) or pid_target == name)
    return AgentContainer(
        id=agent_id,
        name=name,
        env=env_list_to_dict(config.get("Env")),
        working_dir=str(config.get("WorkingDir") or ""),
        image=str(config.get("Image") or ""),
        shares_pid=shared_pid,
    )
