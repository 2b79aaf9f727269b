"""ED160: a build log shows a known failure signature (log triage, DESIGN §6a)."""

from __future__ import annotations

from earthly_doctor.check import Check, CheckDoc
from earthly_doctor.context import Context
from earthly_doctor.model import Evidence, Finding
from earthly_doctor.triage.findings import CODE, TITLE, LogHit

__all__ = ["BuildLog", "LogHit"]  # LogHit: what each ED160 finding publishes (triage writes it)


class BuildLog(Check):
    code = CODE
    title = TITLE
    category = "logs"
    needs = ("build_logs",)
    fixable = True
    remedies = ("disable-proxy", "host-network", "pinned-port")
    doc = CheckDoc(
        what="Scans build logs (Jenkins consoleText or raw logs, gzip, stdin) for known signatures: the two-line "
        "`pull ping error` / `docker pull 127.0.0.1:<port>/sess-…/pullping:img-N … connect: connection refused` pair "
        "in both daemon wordings, the same refusal on buildkitd's port 8371, proxy start-up failures, proxy-disabled "
        "and Podman fallbacks, the daemon's HTTP proxy capturing the pull, HTTPS spoken to the plain-HTTP proxy, "
        "an unreachable or forbidden Docker daemon, a crashed buildkitd, and the look-alikes "
        "that are not this failure. Timestamper prefixes, [Pipeline] lines (for the stage), ConsoleNotes, ANSI, "
        "carriage returns and CRLF are normalised first. Run it as `earthly-doctor triage LOG` or "
        "`earthly-doctor diagnose --log LOG`.",
        why="The log is often all a support engineer has. The failing line names the refused port, the session and "
        "the image store, which tells the unreachable proxy (fix the namespaces or disable the proxy) from an "
        "unpublished buildkitd port 8371 (disabling the proxy changes nothing) and from pulls that connected and "
        "failed later (not a networking problem).",
        example="ED160 fail at build.log:4, stage Image: the Docker daemon was refused at 127.0.0.1:35137 pulling "
        "sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0 (classic image store).",
        fix="For the unreachable proxy: EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true, or run Earthly in the daemon's "
        "network namespace (--network host), or pin exports to 127.0.0.1:8371. Each signature's advice says the rest; "
        "add your own signatures with `--signatures DIR`.",
    )

    def run(self, ctx: Context) -> list[Finding]:
        findings: list[Finding] = ctx.fact("build_logs")
        if not findings:
            return [self.skip(
                "no build log given (earthly-doctor triage LOG, or diagnose --log LOG)",
                evidence=[Evidence("build_logs", None, "command line")],
                remedies=[],
            )]
        return findings
