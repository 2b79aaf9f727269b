"""disable-proxy: turn Earthly's registry proxy off, so exports go through buildkitd's 8371 or `docker load`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from earthly_doctor.remedies import rules
from earthly_doctor.remedies.base import Editor, Plan, Remedy, Target, Topology
from earthly_doctor.remedies.proxy_off import proxy_off_editor, proxy_off_targets


class DisableProxy(Remedy):
    id = "disable-proxy"
    kinds = ("jenkinsfile", "envfile", "shell")
    verify_codes = ("ED140",)
    risks = (
        ("Exports then go through earthly-buildkitd's port 8371 (local BuildKit) or a tar stream into `docker load` "
        "(remote or embedded BuildKit), which is slower for large images."),
        ("A .env file is read from the directory earthly runs in, and never overrides a variable already set "
        "(EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=false in the environment wins)."),
    )

    def applies(self, topology: Topology) -> bool:
        return rules.applies(self.id, topology)

    def editor(self, kind: str, options: dict[str, Any]) -> Editor | None:
        return proxy_off_editor(kind, options)

    def plan_file(self, plan: Plan, target: Target, options: dict[str, Any]) -> None:
        super().plan_file(plan, target, options)
        edit = next((e for e in plan.edits if e.path == target.path), None)
        if edit is not None and edit.before is not None and not _shows_earthly(target.kind, edit.before):
            plan.warnings.append(
                f"{target.path}: no earthly call is visible in it; the setting reaches earthly only if earthly runs "
                "under this file (through a script or a shared library)"
            )

    def default_targets(self, cwd: Path, env: dict[str, str]) -> list[Target]:
        return proxy_off_targets(cwd)

    def extras(self, plan: Plan, topology: Topology, options: dict[str, Any]) -> None:
        plan.commands += [
            "export EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true   # EarthBuild: EARTH_DISABLE_REMOTE_REGISTRY_PROXY",
            "earthly --disable-remote-registry-proxy +target      # the flag goes before the target",
        ]


def _shows_earthly(kind: str, text: str) -> bool:
    """Whether a Jenkinsfile's steps or a script visibly run earthly (a .env file is read by earthly itself)."""
    from earthly_doctor.remedies.edit import shell

    if kind == "jenkinsfile":
        from earthly_doctor.remedies.edit.groovy import Tree
        from earthly_doctor.remedies.edit.pipeline_model import PipelineModel
        from earthly_doctor.remedies.edit.text import EditRefused

        try:
            return bool(PipelineModel(Tree(text)).earthly_steps())
        except EditRefused:
            return True  # the editor already refused; no second message
    if kind == "shell":
        return bool(shell.earthly_commands(text) or shell.earthly_runs(text))
    return True
