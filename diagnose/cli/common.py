"""Options shared by every command that produces a report, declared once."""

from __future__ import annotations

import math
from typing import Any, List

import typer

from earthly_doctor.cli.output import FAIL_ON

FormatOpt = typer.Option("text", "--format", "-f", help="Output format on stdout: text, json, junit, warnings-ng, sarif, markdown.")
OutputOpt = typer.Option(
    None, "--output", "-o", help="Also write a report to a file, as FORMAT:PATH (e.g. json:report.json). Repeatable."
)
FailOnOpt = typer.Option("fail", "--fail-on", help=f"Exit 1 when a finding is at or above this status: {', '.join(FAIL_ON)}.")
ExitZeroOpt = typer.Option(False, "--exit-zero", help="Always exit 0 on findings (for steps that must never fail a stage).")
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Show evidence for every finding and tracebacks of crashed checks.")
OutputList = List[str]
# Seconds options take no more than a week: inf, 1e309 (which parses as inf) and NaN reach timers that overflow.
MAX_SECONDS = 7 * 86400.0


def _a_number(value: float | None) -> float | None:
    # NaN passes a range check (every comparison with it is false), so it is refused by name.
    if value is not None and math.isnan(value):
        raise typer.BadParameter(f"{value} is not a number of seconds.")
    return value


def seconds(default: float, flag: str, help: str, *, minimum: float = 0.1) -> Any:
    """A seconds option, bounded on both sides so inf, 1e309, NaN and negatives are usage errors (exit 2)."""
    return typer.Option(default, flag, metavar="SECONDS", help=help, min=minimum, max=MAX_SECONDS,
                        callback=_a_number)
