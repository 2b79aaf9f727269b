"""ED130: a running Earthly's registry proxy: alive, listening on 127.0.0.1, answering /v2/."""

from __future__ import annotations

from earthly_doctor.check import Check, CheckDoc
from earthly_doctor.context import Context
from earthly_doctor.model import Evidence, Finding


class EarthlyProxyAlive(Check):
    code = "ED130"
    title = "Earthly proxy listening"
    category = "earthly"
    needs = ("earthly_processes",)
    doc = CheckDoc(
        what="Finds running `earthly` (and EarthBuild's `earth`) processes, reads their listening TCP sockets from "
        "their own `/proc/<pid>/net/tcp`, and for those on 127.0.0.1 in this network namespace sends `GET /v2/` "
        "the way the daemon would. Listeners in another namespace are listed but cannot be probed from here.",
        why="Earthly v0.8+ starts its registry proxy on 127.0.0.1:<random port> for the whole build and exports "
        "every SAVE IMAGE through it. A live proxy that answers /v2/ rules out 'the proxy died early' (the v0.7.2x "
        "bug) and tells ED121 which port the daemon must reach.",
        example="ED130 pass: earthly pid 4242: 127.0.0.1:35137 answers /v2/ (HTTP 200, registry/2.0)",
        fix="If nothing listens while a build runs, the proxy is disabled or failed to start (Earthly then uses tar); "
        "if it listens but does not answer, upgrade Earthly.",
    )

    def run(self, ctx: Context) -> Finding:
        procs = ctx.fact("earthly_processes")
        if not procs:
            return self.skip_without_earthly(ctx, "ED120 gives the same proof without Earthly")
        evidence: list[Evidence] = []
        answering: list[str] = []
        silent: list[str] = []
        unprobed: list[str] = []
        for p in procs:
            where = "this namespace" if p.same_netns else f"net:[{p.net_ns}]" if p.net_ns else "an unknown namespace"
            evidence.append(Evidence(f"process:{p.pid}", f"{p.name} in {where}, flags {p.flags}", f"/proc/{p.pid}/cmdline, /proc/{p.pid}/ns/net"))
            if p.error:
                evidence.append(Evidence(f"error:{p.pid}", p.error, f"/proc/{p.pid}"))
            for lst in p.listeners:
                evidence.append(Evidence(f"listener:{p.pid}", f"{lst.address}:{lst.port}: {lst.v2_detail}", f"/proc/{p.pid}/net/tcp; GET /v2/"))
                (answering if lst.answers_v2 else silent if lst.answers_v2 is False else unprobed).append(f"{p.name} pid {p.pid} on {lst.address}:{lst.port}")
        if silent:
            return self.fail(f"listening but not answering /v2/ like a registry: {'; '.join(silent)}", evidence=evidence,
                             remedies=["disable-proxy"])
        if answering:
            more = f" (also {len(unprobed)} in other namespaces)" if unprobed else ""
            return self.passed(f"proxy answers /v2/: {'; '.join(answering)}{more}", evidence=evidence, remedies=[])
        if unprobed:
            return self.passed(f"proxy listening in another network namespace (not probed from here): {'; '.join(unprobed)}",
                               evidence=evidence, remedies=[])
        unreadable = [p for p in procs if p.error]
        if unreadable and len(unreadable) == len(procs):
            return self.skip(f"earthly running (pid {', '.join(str(p.pid) for p in procs)}) but its sockets cannot be read: "
                             f"{unreadable[0].error}", evidence=evidence, remedies=[])
        return self.passed(f"earthly running (pid {', '.join(str(p.pid) for p in procs)}) with no 127.0.0.1 listener: the proxy "
                           "is disabled, not started yet, or already closed", evidence=evidence, remedies=[])
