"""The command line. `main` answers `--version` before importing typer, so the fast path stays fast."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from earthly_doctor import __version__

        print(f"earthly-doctor {__version__}")
        raise SystemExit(0)
    from earthly_doctor.cli.app import run

    run(args)
