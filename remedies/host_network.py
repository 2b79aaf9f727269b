"""host-network: run the Earthly container in the host daemon's network namespace, so both loopbacks are one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from earthly_doctor.remedies import rules
from earthly_doctor.remedies.base import Editor, Plan, Remedy, Target, Topology

POD_SNIPPET = """spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet   # keep cluster DNS working with the host's network
"""


class HostNetwork(Remedy):
    id = "host-network"
    kinds = ("jenkinsfile", "shell")
    verify_codes = ("ED103", "ED120")
    risks = (
        ("CIS Docker Benchmark 5.10: the host's network namespace should not be shared with containers. The "
        "container sees every host interface and can reach services bound to the host's 127.0.0.1."),
        "With --network host, -p/--publish is ignored and ports the container opens collide with the host's.",
        ("Works only when the daemon is the host's (a mounted /var/run/docker.sock), never for a remote or "
        "Docker-in-Docker daemon."),
    )

    def applies(self, topology: Topology) -> bool:
        return rules.applies(self.id, topology)

    def editor(self, kind: str, options: dict[str, Any]) -> Editor | None:
        if kind == "jenkinsfile":
            from earthly_doctor.remedies.edit.jenkinsfile import edit_host_network

            return edit_host_network
        if kind == "shell":
            from earthly_doctor.remedies.edit.shell import edit_script_host_network

            return edit_script_host_network
        return None

    def default_targets(self, cwd: Path, env: dict[str, str]) -> list[Target]:
        return [Target(cwd / "Jenkinsfile", "jenkinsfile")] if (cwd / "Jenkinsfile").is_file() else []

    def extras(self, plan: Plan, topology: Topology, options: dict[str, Any]) -> None:
        plan.commands.append("docker run --network host -v /var/run/docker.sock:/var/run/docker.sock … earthly/earthly +target")
        plan.snippets += [
            ("Kubernetes pod template (print-only: pod specs are not edited)", POD_SNIPPET),
            ("Docker Cloud agent template (print-only)", "Manage Jenkins → Clouds → <cloud> → <template> → Container settings → Network: host\n"),
        ]
