"""`earthly-doctor diagnose`: run the checks here and now and print the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from earthly_doctor.cli import common
from earthly_doctor.cli.output import run_report
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment

if TYPE_CHECKING:
    from earthly_doctor.model import Report


def register(app: typer.Typer) -> None:
    @app.command("diagnose")
    def diagnose_cmd(
        only: Optional[List[str]] = typer.Option(None, "--only", help="Run only these check codes or categories (comma-separated or repeated)."),
        skip: Optional[List[str]] = typer.Option(None, "--skip", help="Skip these check codes or categories."),
        timeout: float = typer.Option(10.0, "--timeout", help="Deadline for the whole run, in seconds.", min=0.1),
        probe_timeout: float = typer.Option(5.0, "--probe-timeout", help="Deadline for one daemon call or probe, in seconds.", min=0.1),
        docker_host: Optional[str] = typer.Option(None, "--docker-host", help="Daemon to diagnose (default: DOCKER_HOST, the docker CLI context, /var/run/docker.sock)."),
        fmt: str = common.FormatOpt,
        output: Optional[List[str]] = common.OutputOpt,
        fail_on: str = common.FailOnOpt,
        exit_zero: bool = common.ExitZeroOpt,
        verbose: bool = common.VerboseOpt,
        log: Optional[List[str]] = typer.Option(None, "--log", help="Also triage this build log (plain, gzip, - for stdin) into the same report. Repeatable."),
        signatures: Optional[List[str]] = typer.Option(None, "--signatures", help="Extra signature folder for --log (see `triage --signatures`)."),
    ) -> None:
        """Check whether the Docker daemon can reach Earthly's registry proxy from here, and why not."""
        from earthly_doctor.commands.diagnose import DiagnoseRequest, diagnose
        from earthly_doctor.context import Context, Options
        from earthly_doctor.triage.library import check_logs

        env = Environment()
        terminal = Terminal(env)

        def produce() -> Report:
            request = DiagnoseRequest(only=only or [], skip=skip or [])
            options = Options(timeout=timeout, probe_timeout=probe_timeout, docker_host=docker_host, verbose=verbose,
                              logs=tuple(log or []), signature_dirs=tuple(signatures or []))
            # A missing log or a bad signature folder is one line and exit 2, before any check runs; ED160 then
            # triages the logs through the `build_logs` fact, under the run's deadline like every other check.
            check_logs(options.logs, options.signature_dirs)
            ctx = Context(env=env, options=options)
            terminal.progress("earthly-doctor: probing the Docker daemon and this namespace…")
            return diagnose(ctx, request)

        run_report(terminal, produce, fmt=fmt, output=output, fail_on=fail_on, exit_zero=exit_zero, verbose=verbose)
