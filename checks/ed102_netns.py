"""ED102: this process's network namespace, and whether it is the Docker daemon's (when that can be seen)."""

from __future__ import annotations

from earthly_doctor.check import Check, CheckDoc
from earthly_doctor.context import Context
from earthly_doctor.model import Evidence, Finding, Severity


class NetworkNamespace(Check):
    code = "ED102"
    title = "Network namespace vs the daemon's"
    category = "network"
    needs = ("netns", "docker")
    remedies = ("disable-proxy",)
    doc = CheckDoc(
        what="Reads this process's network namespace (`/proc/self/ns/net`) and, when the daemon's process is visible "
        "(same PID namespace or a host /proc), finds the `dockerd` serving this endpoint by its `--data-root` "
        "(against `/info` DockerRootDir) and `--host`, and compares its `/proc/<pid>/ns/net`. When the process "
        "cannot be seen or told apart from other daemons it says so and does not guess: there is no fixed inode "
        "for the host's network namespace.",
        why="The daemon dials 127.0.0.1 in its own namespace. Different namespaces (Docker-in-Docker in a network "
        "namespace, rootless Docker, a build in `ip netns`) mean Earthly's proxy is out of its reach.",
        example="ED102 fail: this process is in net:[4026532301], dockerd (pid 5120, --host tcp://10.231.0.1:2375) "
        "in net:[4026532410]",
        fix="Run Earthly in the daemon's namespace, or disable the registry proxy (EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true).",
    )

    def run(self, ctx: Context) -> Finding:
        facts = ctx.fact("netns")
        evidence = [Evidence("own_netns", f"net:[{facts.own_ns}]" if facts.own_ns else None, "/proc/self/ns/net"),
                    Evidence("dockerd_processes_visible", facts.candidates, "/proc/*/comm")]
        d = facts.daemon
        if d is not None:
            evidence += [
                Evidence("daemon_pid", d.pid, "/proc/<pid>/cmdline"),
                Evidence("daemon_hosts", d.hosts, f"/proc/{d.pid}/cmdline --host"),
                Evidence("daemon_data_root", d.data_root, f"/proc/{d.pid}/cmdline --data-root"),
                Evidence("matched_by", facts.match, "docker API /info DockerRootDir and endpoint"),
            ]
            if d.net_ns is not None:
                evidence.append(Evidence("daemon_netns", f"net:[{d.net_ns}]", f"/proc/{d.pid}/ns/net"))
        evidence.append(Evidence("comparison", facts.comparison, "namespace inodes"))
        if facts.comparison == "same":
            return self.passed(f"this process and dockerd (pid {d.pid}) share net:[{facts.own_ns}]", evidence=evidence)
        if facts.comparison == "different":
            return self.fail(
                f"this process is in net:[{facts.own_ns}], dockerd (pid {d.pid}) in net:[{d.net_ns}]: "
                "the daemon's 127.0.0.1 is not this one",
                severity=Severity.HIGH, evidence=evidence,
            )
        evidence.append(Evidence("why_unknown", facts.reason, "netns probe"))
        own = f"net:[{facts.own_ns}]" if facts.own_ns else "an unreadable namespace"
        return self.skip(f"this process is in {own}; the daemon's cannot be compared: {facts.reason} (ED120 proves reachability instead)",
                         evidence=evidence, remedies=[])
