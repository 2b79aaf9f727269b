"""One rich Console per run, built from the Environment (hatch style): never a module-level console."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, NoReturn

from earthly_doctor.environment import Environment
from earthly_doctor.errors import DoctorError, UsageError
from earthly_doctor.exitstatus import ExitStatus
from earthly_doctor.sanitize import clean


class Terminal:
    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self._console: Any = None
        self._err: Any = None

    @property
    def rich(self) -> bool:
        return self.environment.rich_output

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(
                file=self.environment.stdout,
                force_terminal=self.rich,
                no_color=not self.rich,
                highlight=False,
                width=self.environment.width,
                soft_wrap=not self.rich,
            )
        return self._console

    def out(self, text: str) -> None:
        """Raw text to stdout (plain reports, JSON): no markup, no wrapping."""
        self.environment.stdout.write(text)
        self.environment.stdout.flush()

    # Messages can quote a server or a file (a job's class, a path): one line each, no control characters.
    def warn(self, message: str) -> None:
        self.environment.stderr.write(f"earthly-doctor: warning: {clean(message, multiline=False)}\n")

    def error(self, message: str) -> None:
        self.environment.stderr.write(f"earthly-doctor: error: {clean(message, multiline=False)}\n")

    def abort(self, message: str, code: ExitStatus = ExitStatus.USAGE) -> NoReturn:
        """End the command with one error line and the exit code (2, a usage error, unless told otherwise)."""
        import typer

        self.error(message)
        raise typer.Exit(int(code))

    @contextmanager
    def expected_failures(self) -> Iterator[None]:
        """An expected failure (bad input, a file or server that cannot be used) inside becomes one line, exit 2."""
        try:
            yield
        except (UsageError, DoctorError) as exc:
            self.abort(str(exc))

    def progress(self, message: str) -> None:
        """A status line on stderr, only on an interactive terminal (CI logs stay clean)."""
        if self.rich:
            self.environment.stderr.write(f"{clean(message, multiline=False)}\n")
