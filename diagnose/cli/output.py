"""Where every report is rendered and every exit code decided: one place for all commands."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from earthly_doctor import reports
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.errors import DoctorError, UsageError
from earthly_doctor.exitstatus import ExitStatus
from earthly_doctor.fsutil import create_file
from earthly_doctor.model import Report, Status

FAIL_ON = ("warn", "error", "fail", "never")


def parse_outputs(specs: list[str]) -> list[tuple[str, Path]]:
    """`--output NAME:PATH` (or a bare PATH, which means text). Validated before any work is done."""
    parsed = []
    for spec in specs:
        name, sep, path = spec.partition(":")
        if not sep or name not in reports.formats():
            if sep and name and "/" not in name and "." not in name:
                raise UsageError(f"--output {spec!r}: unknown format {name!r}; choose from {', '.join(reports.formats())}")
            name, path = "text", spec
        if not path:
            raise UsageError(f"--output {spec!r}: no file name after the colon")
        parsed.append((name, Path(path)))
    return parsed


def check_format(name: str) -> None:
    if name not in reports.formats():
        raise UsageError(f"--format {name!r}: choose from {', '.join(reports.formats())}")


def emit(terminal: Terminal, report: Report, fmt: str, outputs: list[tuple[str, Path]], verbose: bool) -> bool:
    """Write the --output files and stdout; False when a file could not be written (said in one line each).

    Through the safe file layer: never through a symlink, folders created only inside the working directory."""
    written = True
    for name, path in outputs:
        try:
            data = reports.render(name, report, verbose=verbose).encode("utf-8")
            create_file(path, data, cwd=terminal.environment.cwd)
        except (OSError, DoctorError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
            terminal.error(f"could not write {path}: {reason}")
            written = False
    if fmt == "text" and terminal.rich:
        from earthly_doctor.reports.text import render_rich

        render_rich(report, terminal.console, verbose=verbose)
    else:
        terminal.out(reports.render(fmt, report, verbose=verbose))
    return written


def exit_status(report: Report, fail_on: str, exit_zero: bool) -> ExitStatus:
    if exit_zero or fail_on == "never":
        return ExitStatus.OK
    threshold = Status(fail_on).rank
    return ExitStatus.FINDINGS if report.worst().rank >= threshold else ExitStatus.OK


def run_report(terminal: Terminal, produce: Callable[[], Report], *, fmt: str, output: list[str] | None,
               fail_on: str, exit_zero: bool, verbose: bool) -> None:
    """The body every report command shares: check the common options, produce the report, render it, exit."""
    import typer

    with terminal.expected_failures():
        if fail_on not in FAIL_ON:
            raise UsageError(f"--fail-on {fail_on!r}: choose from {', '.join(FAIL_ON)}")
        check_format(fmt)
        outputs = parse_outputs(output or [])
        from earthly_doctor.secret_rules import preload

        preload()  # the redaction rules every rendered report needs, read while the checks run
        report = produce()
    for warning in report.warnings:
        terminal.warn(warning)
    if not emit(terminal, report, fmt, outputs, verbose) and not exit_zero:
        # A missing report file would only surface later as a confusing "no test report files" in Jenkins.
        raise typer.Exit(int(ExitStatus.USAGE))
    raise typer.Exit(int(exit_status(report, fail_on, exit_zero)))
