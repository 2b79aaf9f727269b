"""`earthly-doctor merge`: many agents' reports, one table."""

from __future__ import annotations

from typing import List, Optional

import typer

from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment

FORMATS = ("text", "json", "markdown", "junit")


def register(app: typer.Typer) -> None:
    @app.command("merge")
    def merge_cmd(
        reports: List[str] = typer.Argument(..., metavar="REPORT.json...", help="JSON reports (--format json / --output json:PATH)."),
        fmt: str = typer.Option("text", "--format", "-f", help=f"Output format on stdout: {', '.join(FORMATS)}."),
        output: Optional[List[str]] = typer.Option(None, "--output", "-o", help="Also write the table to a file, as FORMAT:PATH. Repeatable."),
        exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when an agent needs action."),
    ) -> None:
        """Fold the JSON reports of many agents into one table: agent, node, daemon, verdict, confidence, first remedy, when.

        Exits 1 when any agent's verdict needs action (anything but healthy / no-known-failure), 2 on a bad report.
        """
        from pathlib import Path

        from earthly_doctor.commands.merge import merge
        from earthly_doctor.errors import DoctorError, UsageError
        from earthly_doctor.fsutil import create_file
        from earthly_doctor.reports.fleet import RENDERERS

        terminal = Terminal(Environment())
        try:
            if fmt not in FORMATS:
                raise UsageError(f"--format {fmt!r}: choose from {', '.join(FORMATS)}")
            outputs = []
            for spec in output or []:
                name, sep, target = spec.partition(":")
                if not sep or name not in FORMATS or not target:
                    raise UsageError(f"--output {spec!r}: use FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}")
                outputs.append((name, Path(target)))
            fleet = merge(reports)
        except (UsageError, DoctorError) as exc:
            terminal.error(str(exc))
            raise typer.Exit(2) from None
        failed = False
        for name, path in outputs:
            try:  # the safe file layer, as every --output: never through a symlink
                create_file(path, RENDERERS[name](fleet).encode("utf-8"))
            except (OSError, DoctorError) as exc:
                reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
                terminal.error(f"could not write {path}: {reason}")
                failed = True
        terminal.out(RENDERERS[fmt](fleet))
        if failed and not exit_zero:
            raise typer.Exit(2)
        raise typer.Exit(1 if fleet.needing_action and not exit_zero else 0)
