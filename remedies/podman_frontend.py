"""podman-frontend: `container_frontend: podman-shell` in Earthly's config, so Earthly never starts the registry
proxy on Podman ("Registry proxy not supported on Podman. Falling back to tar-based outputs.")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from earthly_doctor.remedies import rules
from earthly_doctor.remedies.base import Editor, Plan, Remedy, Target, Topology
from earthly_doctor.remedies.pinned_port import config_path

VALUE = "podman-shell"


class PodmanFrontend(Remedy):
    id = "podman-frontend"
    kinds = ("yaml",)
    verify_codes = ("ED140",)
    risks = (
        ("The podman frontend runs the `podman` binary, not `docker`: it must be on PATH where earthly runs and reach "
        "the same Podman (for a Podman service elsewhere: podman --remote / CONTAINER_HOST)."),
        ("With the local earthly-buildkitd, exports then pull from 127.0.0.1:8371 with --tls-verify=false; with a "
        "remote BuildKit they go through a tar stream into podman load."),
    )

    def applies(self, topology: Topology) -> bool:
        return rules.applies(self.id, topology)

    def editor(self, kind: str, options: dict[str, Any]) -> Editor | None:
        if kind == "yaml":
            from earthly_doctor.remedies.edit.yaml_config import edit_global_key

            return lambda text: edit_global_key(text, "container_frontend", VALUE)
        return None

    def default_targets(self, cwd: Path, env: dict[str, str]) -> list[Target]:
        return [Target(config_path(env), "yaml")]

    def extras(self, plan: Plan, topology: Topology, options: dict[str, Any]) -> None:
        plan.commands.append(f"earthly config global.container_frontend {VALUE}")
