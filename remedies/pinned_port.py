"""pinned-port: proxy off plus `local_registry_host` at buildkitd's fixed 8371, published on the daemon's loopback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from earthly_doctor.environment import home_dir
from earthly_doctor.remedies import rules
from earthly_doctor.vocabulary import PINNED_REGISTRY
from earthly_doctor.remedies.base import Editor, Plan, Remedy, Target, Topology
from earthly_doctor.remedies.proxy_off import proxy_off_editor, proxy_off_targets



def config_path(env: dict[str, str]) -> Path:
    """Earthly's config file: EARTHLY_CONFIG, else ~/.earthly/config.yml (the legacy config.yaml when only it exists)."""
    if env.get("EARTHLY_CONFIG"):
        return Path(env["EARTHLY_CONFIG"]).expanduser()
    home = (home_dir(env) or Path("/")) / ".earthly"  # no HOME and no passwd entry: Go's os.UserHomeDir fails too
    if not os.path.exists(home / "config.yml") and os.path.exists(home / "config.yaml"):
        return home / "config.yaml"
    return home / "config.yml"


class PinnedPort(Remedy):
    id = "pinned-port"
    kinds = ("yaml", "jenkinsfile", "envfile", "shell")
    verify_codes = ("ED131", "ED140")
    risks = (
        "Only for the local earthly-buildkitd: with a remote BuildKit host Earthly ignores local_registry_host.",
        ("Port 8371 exists only while earthly-buildkitd runs with it published (EARTHLY_WITH_DOCKER unset); "
        "any process on the daemon's host can pull the build's images from it while it runs."),
    )
    def applies(self, topology: Topology) -> bool:
        return rules.applies(self.id, topology)

    def editor(self, kind: str, options: dict[str, Any]) -> Editor | None:
        if kind == "yaml":
            from earthly_doctor.remedies.edit.yaml_config import edit_local_registry_host

            return lambda text: edit_local_registry_host(text, PINNED_REGISTRY)
        return proxy_off_editor(kind, options)

    def default_targets(self, cwd: Path, env: dict[str, str]) -> list[Target]:
        return [Target(config_path(env), "yaml"), *proxy_off_targets(cwd)]

    def extras(self, plan: Plan, topology: Topology, options: dict[str, Any]) -> None:
        plan.commands += [
            f"earthly config global.local_registry_host '{PINNED_REGISTRY}'",
            "export EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true",
        ]
        if not any(e.kind == "yaml" for e in plan.edits):
            plan.notes.append("no Earthly config file among the files; run the `earthly config` command shown")
