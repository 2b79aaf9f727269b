"""podman-insecure-loopback: mark 127.0.0.1 insecure in the registries.conf Podman reads, so its pulls from
Earthly's plain-HTTP proxy (127.0.0.1:<random port>) fall back to HTTP. Podman has no daemon.json."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from earthly_doctor.environment import home_dir
from earthly_doctor.remedies import rules
from earthly_doctor.remedies.base import Editor, Plan, Remedy, Target, Topology

SYSTEM = Path("/etc/containers/registries.conf")


def registries_conf(env: dict[str, str]) -> Path:
    """containers-registries.conf(5): CONTAINERS_REGISTRIES_CONF, else (not root) the user's file when it exists,
    which then replaces the system one, else /etc/containers/registries.conf."""
    if env.get("CONTAINERS_REGISTRIES_CONF"):
        return Path(env["CONTAINERS_REGISTRIES_CONF"])
    if os.geteuid() != 0:
        home = home_dir(env) or Path("/")
        config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
        user = config / "containers" / "registries.conf"
        if user.is_file():
            return user
    return SYSTEM


class PodmanInsecureLoopback(Remedy):
    id = "podman-insecure-loopback"
    kinds = ("registries",)
    verify_codes = ("ED120",)
    risks = (
        "Any image from 127.0.0.1, on every port, is then pulled over plain HTTP without TLS verification.",
        ("A location without a port matching every port is containers/image's current prefix rule, which its "
        "source marks as not to be relied on; re-check after upgrading Podman (earthly-doctor diagnose)."),
        ("The file must be the one the Podman service reads (a rootless service reads the user's file when it "
        "exists); the service must be restarted to read it."),
    )

    def applies(self, topology: Topology) -> bool:
        return rules.applies(self.id, topology)

    def editor(self, kind: str, options: dict[str, Any]) -> Editor | None:
        if kind == "registries":
            from earthly_doctor.remedies.edit.registries_conf import edit_insecure_loopback

            return edit_insecure_loopback
        return None

    def default_targets(self, cwd: Path, env: dict[str, str]) -> list[Target]:
        return [Target(registries_conf(env), "registries")]

    def extras(self, plan: Plan, topology: Topology, options: dict[str, Any]) -> None:
        plan.commands.append("systemctl restart podman.socket podman.service   # or restart `podman system service`")
        plan.notes.append("Podman reads registries.conf when the service starts: restart it after the edit")
