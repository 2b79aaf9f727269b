"""ED121: can the daemon reach the live Earthly proxy port on its own 127.0.0.1?"""

from __future__ import annotations

from dataclasses import dataclass

from earthly_doctor.check import Check, CheckDoc, Published
from earthly_doctor.context import Context, FactError
from earthly_doctor.model import Evidence, Finding, Severity


@dataclass(frozen=True)
class LiveReach(Published):
    """ED121: whether the daemon was refused at a running Earthly's own proxy port, here or in another namespace."""

    code = "ED121"
    refused: bool | None = None
    refused_elsewhere: list[str] | None = None  # "earthly pid 12 port 3456" for builds in other namespaces
    daemon_error: str | None = None  # the daemon's words, every refused port joined


class LiveProxyReach(Check):
    code = "ED121"
    title = "Daemon reaches the live Earthly proxy"
    category = "probe"
    needs = ("earthly_processes", "earthly_reach", "docker")
    fixable = True
    remedies = ("disable-proxy", "host-network", "pinned-port")
    doc = CheckDoc(
        what="For every 127.0.0.1 listener of a running earthly/earth process, asks the daemon to pull "
        "`127.0.0.1:<port>/earthly-doctor-probe/<nonce>@sha256:<digest of the nonce>`: the canary method aimed at the "
        "live port. No registry can hold content with that digest, so nothing is ever stored.",
        why="This is the very pull Earthly's SAVE IMAGE makes. `connection refused` here is the build's failure, "
        "proven against the running build; a manifest error means the daemon's dial arrived.",
        example="ED121 fail: earthly pid 4242: the daemon could not reach 127.0.0.1:35137: dial tcp 127.0.0.1:35137: "
        "connect: connection refused",
        fix="Disable the registry proxy (EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true), or run Earthly in the daemon's "
        "network namespace.",
    )

    def run(self, ctx: Context) -> Finding:
        procs = ctx.fact("earthly_processes")
        targets = [(p, lst) for p in procs for lst in p.listeners if lst.address in ("127.0.0.1", "0.0.0.0")]
        if not procs:
            return self.skip_without_earthly(ctx, "no live proxy port to test (ED120 tests this loopback instead)")
        if not targets and any(p.error for p in procs):
            # Unreadable sockets (another user's process) prove nothing about a listener: say so, not "none".
            return self.skip("earthly is running but its sockets cannot all be read from here, so its proxy port is "
                             f"unknown (see ED130: {next(p.error for p in procs if p.error)})", remedies=[])
        if not targets:
            return self.skip("earthly is running but no proxy listens on 127.0.0.1 (see ED130)", remedies=[])
        if (skipped := self.skip_without_daemon(ctx)) is not None:
            return skipped
        try:
            reach = ctx.fact("earthly_reach")
        except FactError as exc:
            return self.error(f"the probe did not finish: {exc}", remedies=[])
        evidence: list[Evidence] = []
        refused_here: list[str] = []
        refused_elsewhere: list[str] = []
        reached: list[str] = []
        undecided: list[str] = []
        for p, lst in targets:
            r = reach.get((p.pid, lst.port))
            if r is None:
                continue
            label = f"{p.name} pid {p.pid} port {lst.port}"
            evidence.append(Evidence(f"reach:{p.pid}:{lst.port}", r.outcome, "docker API /images/create"))
            evidence.append(Evidence(f"reference:{p.pid}:{lst.port}", r.reference, "probe"))
            if r.daemon_error:
                evidence.append(Evidence(f"daemon_error:{p.pid}:{lst.port}", r.daemon_error, "docker API /images/create"))
            if r.outcome == "refused":
                (refused_here if p.same_netns else refused_elsewhere).append(label)
            elif r.outcome == "reached":
                reached.append(label)
            else:
                undecided.append(label)
        errors = " | ".join(str(e.value) for e in evidence if e.fact.startswith("daemon_error")) or None
        if refused_here:
            return self.fail(f"the daemon cannot reach the running proxy: {'; '.join(refused_here)} (connection refused): "
                             "this build's SAVE IMAGE fails", severity=Severity.HIGH, evidence=evidence,
                             published=LiveReach(True, refused_elsewhere or None, errors))
        elsewhere = f" (refused in another network namespace: {'; '.join(refused_elsewhere)})" if refused_elsewhere else ""
        if reached:
            return self.passed(f"the daemon reaches the running proxy: {'; '.join(reached)}{elsewhere}",
                               evidence=evidence, remedies=[],
                               published=LiveReach(None, refused_elsewhere or None, errors))
        if refused_elsewhere:
            return self.warn(f"the daemon cannot reach an Earthly proxy in another network namespace: {'; '.join(refused_elsewhere)}",
                             evidence=evidence,
                             published=LiveReach(True, refused_elsewhere, errors))
        return self.warn(f"undecided (no answer in time): {'; '.join(undecided)}", evidence=evidence, remedies=[])
