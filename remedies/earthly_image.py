"""earthly-image: use an image that disables the proxy itself (earthly/earthly ≥ v0.8.2) or add its ENV line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from earthly_doctor.remedies import rules
from earthly_doctor.remedies.base import Editor, Plan, Remedy, Target, Topology


class EarthlyImage(Remedy):
    id = "earthly-image"
    kinds = ("dockerfile", "jenkinsfile")
    verify_codes = ("ED140",)
    risks = (
        "Rebuild and push the agent image before the next build; the ENV only affects containers started from it.",
        "Moving to a newer earthly/earthly tag also updates Earthly and its buildkitd.",
    )

    def applies(self, topology: Topology) -> bool:
        return rules.applies(self.id, topology)

    def editor(self, kind: str, options: dict[str, Any]) -> Editor | None:
        if kind == "dockerfile":
            from earthly_doctor.remedies.edit.dockerfile import edit_dockerfile_env

            return edit_dockerfile_env
        if kind == "jenkinsfile":
            from earthly_doctor.remedies.edit.jenkinsfile import edit_image

            return edit_image
        return None

    def default_targets(self, cwd: Path, env: dict[str, str]) -> list[Target]:
        # A project Dockerfile is usually the application's, not the agent's: only the one a `dockerfile` agent
        # builds is edited by default; others when named with --file.
        jenkinsfile = cwd / "Jenkinsfile"
        if not jenkinsfile.is_file():
            return []
        from earthly_doctor.remedies.edit.jenkinsfile import dockerfile_agents

        targets = [Target(jenkinsfile, "jenkinsfile")]
        from earthly_doctor.fsutil import UnsafePath, workspace_path
        from earthly_doctor.remedies.base import read_text
        from earthly_doctor.remedies.edit.text import EditRefused

        try:  # the safe layer's read: a regular file, capped (planning refuses the rest with the reason)
            text = read_text(workspace_path(jenkinsfile, cwd)) or ""
        except (EditRefused, UnsafePath):
            return targets
        for name in dockerfile_agents(text):
            path = (cwd / name).resolve()
            if path.is_file() and path.is_relative_to(cwd.resolve()):
                targets.append(Target(path, "dockerfile"))
        return targets

    def extras(self, plan: Plan, topology: Topology, options: dict[str, Any]) -> None:
        plan.snippets.append(("custom agent Dockerfile (pass it with --file to edit it)", "ENV EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n"))
