"""The command line. `main` answers `--version` before importing typer, so the fast path stays fast."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # A closed stdout/stderr (`cmd >&-`, some CI launchers) leaves None here: write to /dev/null (which takes the
    # free fd) so --output files and the exit code still come out instead of an internal error.
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- open for the life of the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 -- open for the life of the process
    if args in (["--version"], ["-V"]):
        from earthly_doctor import __version__

        print(f"earthly-doctor {__version__}")  # noqa: T201 -- a command-line entry point
        raise SystemExit(0)
    from earthly_doctor.cli.app import run

    run(args)
