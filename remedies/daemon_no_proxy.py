"""daemon-no-proxy (print-only): keep the daemon's HTTP proxy away from 127.0.0.1 with NO_PROXY."""

from __future__ import annotations

from typing import Any

from earthly_doctor.remedies import rules
from earthly_doctor.remedies.base import Plan, Remedy, Topology

DROP_IN = """# /etc/systemd/system/docker.service.d/no-proxy.conf
[Service]
Environment="NO_PROXY=127.0.0.1,localhost,::1"
"""
DAEMON_JSON = """# /etc/docker/daemon.json (Docker 23+), merged into the existing file
{
  "proxies": {
    "no-proxy": "127.0.0.1,localhost,::1"
  }
}
"""


class DaemonNoProxy(Remedy):
    id = "daemon-no-proxy"
    kinds = ()
    verify_codes = ("ED111",)
    risks = (
        "Restarting the daemon stops running containers unless live-restore is enabled.",
        "Keep the existing NO_PROXY entries: this list replaces the variable, it does not extend it.",
    )

    def applies(self, topology: Topology) -> bool:
        return rules.applies(self.id, topology)

    def extras(self, plan: Plan, topology: Topology, options: dict[str, Any]) -> None:
        plan.snippets += [("systemd drop-in (print-only)", DROP_IN), ("or daemon.json (print-only)", DAEMON_JSON)]
        plan.commands += ["sudo systemctl daemon-reload", "sudo systemctl restart docker"]
        plan.notes.append("the daemon's configuration is not edited by earthly-doctor: it needs root and a restart")
