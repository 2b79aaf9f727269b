"""`earthly-doctor triage LOG...`: known failure signatures in build logs, as a report."""

from __future__ import annotations

from typing import List, Optional

import typer

from earthly_doctor.cli import common
from earthly_doctor.cli.output import run_report
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment

SignaturesOpt = typer.Option(
    None, "--signatures", metavar="DIR", help="A folder of extra signature files (*.toml); repeatable. Same id replaces a built-in."
)


def register(app: typer.Typer) -> None:
    @app.command("triage")
    def triage_cmd(
        logs: List[str] = typer.Argument(..., metavar="LOG", help="Build logs: plain, gzip, Jenkins consoleText or raw log; - reads stdin."),
        signatures: Optional[List[str]] = SignaturesOpt,
        fmt: str = common.FormatOpt,
        output: Optional[List[str]] = common.OutputOpt,
        fail_on: str = common.FailOnOpt,
        exit_zero: bool = common.ExitZeroOpt,
        verbose: bool = common.VerboseOpt,
    ) -> None:
        """Find known Earthly/Jenkins failure signatures in build logs and say what they mean."""
        from earthly_doctor.commands.triage import TriageRequest, triage

        request = TriageRequest(logs=list(logs), signature_dirs=list(signatures or []))
        run_report(Terminal(Environment()), lambda: triage(request), fmt=fmt, output=output, fail_on=fail_on,
                   exit_zero=exit_zero, verbose=verbose)
