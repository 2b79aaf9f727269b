"""`earthly-doctor jenkins triage`: triage builds straight from a Jenkins server."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from earthly_doctor.cli import common
from earthly_doctor.cli.output import run_report
from earthly_doctor.cli.common import seconds
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.cli.triage import SignaturesOpt
from earthly_doctor.environment import Environment
from earthly_doctor.jenkins import WORKERS

if TYPE_CHECKING:
    from earthly_doctor.model import Report

HELP = (
    "Read builds from a Jenkins server and look for Earthly's registry-proxy failure in their logs.\n\n"
    "Credentials come from JENKINS_URL, JENKINS_USER and JENKINS_API_TOKEN, or from the netrc entry for the "
    "server's host (NETRC or ~/.netrc); never from the command line."
)


def register(app: typer.Typer) -> None:
    jenkins_app = typer.Typer(name="jenkins", help="Work with a Jenkins server.", no_args_is_help=True,
                              add_completion=False, rich_markup_mode=None)

    @jenkins_app.command("triage", help=HELP)
    def triage_cmd(
        job: str = typer.Argument(..., metavar="JOB|URL", help="A job's full name (folder/job, multibranch repo/feature%2Fx) or a job or build URL."),
        build: Optional[str] = typer.Argument(None, metavar="[BUILD]", help="A build number or permalink (default: lastFailedBuild)."),
        last: Optional[int] = typer.Option(None, "--last", "-n", metavar="N", help="Triage the newest N builds (failed and green) and summarise.", min=1),
        workers: int = typer.Option(WORKERS, "--workers", "-j", metavar="N", help="Requests to Jenkins in flight at most; as many builds are read at once.", min=1, max=64),
        request_timeout: float = seconds(10.0, "--request-timeout",
                                         "Seconds to wait for Jenkins to connect or send more data."),
        timeout: float = seconds(600.0, "--timeout", "Deadline for the whole run, in seconds."),
        wait: float = seconds(0.0, "--wait", "Follow a running build's log for up to this many seconds.", minimum=0.0),
        signatures: Optional[List[str]] = SignaturesOpt,
        fmt: str = common.FormatOpt,
        output: Optional[List[str]] = common.OutputOpt,
        fail_on: str = common.FailOnOpt,
        exit_zero: bool = common.ExitZeroOpt,
        verbose: bool = common.VerboseOpt,
    ) -> None:
        from earthly_doctor.commands.jenkins_triage import JenkinsTriageRequest, jenkins_triage

        env = Environment()
        terminal = Terminal(env)

        def progress(done: int, total: int) -> None:
            if total > 1 and (done == total or done % max(1, total // 10) == 0):
                terminal.progress(f"earthly-doctor: {done}/{total} builds read")

        def produce() -> Report:
            request = JenkinsTriageRequest(target=job, build=build, last=last, workers=workers, timeout=request_timeout,
                                           deadline=timeout, wait=wait, signature_dirs=list(signatures or []))
            terminal.progress("earthly-doctor: reading builds from Jenkins…")
            return jenkins_triage(request, env.env, progress=progress)

        run_report(terminal, produce, fmt=fmt, output=output, fail_on=fail_on, exit_zero=exit_zero, verbose=verbose)

    app.add_typer(jenkins_app, name="jenkins")
