"""The typer application. Each command lives in its own module under cli/ and registers itself here."""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import typer

from earthly_doctor import __version__
from earthly_doctor.exitstatus import ExitStatus

# One line per command module; each exposes `register(app)`.
COMMAND_MODULES = (
    "earthly_doctor.cli.diagnose",
    "earthly_doctor.cli.checks",
    "earthly_doctor.cli.jenkins",
    "earthly_doctor.cli.triage",
    "earthly_doctor.cli.run",
    "earthly_doctor.cli.bundle",
    "earthly_doctor.cli.fix",
    "earthly_doctor.cli.merge",
)

HELP = (
    "Diagnose and fix Earthly's `SAVE IMAGE ... dial tcp 127.0.0.1:<port>: connect: connection refused`.\n\n"
    "Earthly's registry proxy listens on the loopback of the namespace Earthly runs in; the Docker daemon dials "
    "the loopback of its own. earthly-doctor proves whether the two are the same, names the cause, and fixes it."
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"earthly-doctor {__version__}")
        raise typer.Exit(0)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="earthly-doctor",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        version: bool = typer.Option(
            False, "--version", "-V", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """earthly-doctor."""

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def run(args: list[str]) -> None:
    app = build_app()
    try:
        app(args=args, prog_name="earthly-doctor", standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("earthly-doctor: interrupted\n")
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 -- a bug of ours: one line, exit 3; the traceback only when asked for
        if os.environ.get("EARTHLY_DOCTOR_DEBUG") or "-v" in args or "--verbose" in args:
            traceback.print_exc()
        sys.stderr.write(
            f"earthly-doctor: internal error: {type(exc).__name__}: {exc}\n"
            "Please report it with the output of `earthly-doctor diagnose -v --format json`.\n"
        )
        raise SystemExit(int(ExitStatus.INTERNAL)) from None
