"""`earthly-doctor triage LOG...`: known failure signatures in build logs, as a report."""

from __future__ import annotations

from typing import List, Optional

import typer

from earthly_doctor.cli import common
from earthly_doctor.cli.output import FAIL_ON, check_format, emit, exit_status, parse_outputs
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment
from earthly_doctor.errors import DoctorError, UsageError
from earthly_doctor.exitstatus import ExitStatus

SignaturesOpt = typer.Option(
    None, "--signatures", help="A folder of extra signature files (*.toml); repeatable. Same id replaces a built-in."
)


def register(app: typer.Typer) -> None:
    @app.command("triage")
    def triage_cmd(
        logs: List[str] = typer.Argument(..., help="Build logs: plain, gzip, Jenkins consoleText or raw log; - reads stdin."),
        signatures: Optional[List[str]] = SignaturesOpt,
        fmt: str = common.FormatOpt,
        output: Optional[List[str]] = common.OutputOpt,
        fail_on: str = common.FailOnOpt,
        exit_zero: bool = common.ExitZeroOpt,
        verbose: bool = common.VerboseOpt,
    ) -> None:
        """Find known Earthly/Jenkins failure signatures in build logs and say what they mean."""
        from earthly_doctor.commands.triage import TriageRequest, triage

        env = Environment()
        terminal = Terminal(env)
        try:
            if fail_on not in FAIL_ON:
                raise UsageError(f"--fail-on {fail_on!r}: choose from {', '.join(FAIL_ON)}")
            check_format(fmt)
            outputs = parse_outputs(output or [])
            report = triage(TriageRequest(logs=list(logs), signature_dirs=list(signatures or [])))
        except (UsageError, DoctorError) as exc:
            terminal.error(str(exc))
            raise typer.Exit(int(ExitStatus.USAGE))
        emit(terminal, report, fmt, outputs, verbose)
        raise typer.Exit(int(exit_status(report, fail_on, exit_zero)))
