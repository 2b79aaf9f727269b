"""What the outside world looks like to a command: environment variables, working directory, terminal.

Injectable (httpie style) so tests can pin colour, width and variables without touching the real process.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Mapping


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def home_dir(env: Mapping[str, str]) -> Path | None:
    """HOME, else the passwd entry's home; None when neither exists (HOME unset for `docker run -u 1234`)."""
    if env.get("HOME"):
        return Path(env["HOME"])
    try:
        return Path.home()
    except (RuntimeError, KeyError, OSError):
        return None


@dataclass
class Environment:
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdout_isatty: bool | None = None
    # Root of the /proc and / trees that probes read; tests point these at recorded fixtures.
    proc_root: Path = Path("/proc")
    fs_root: Path = Path("/")
    width: int | None = None

    def __post_init__(self) -> None:
        if self.stdout_isatty is None:
            isatty = getattr(self.stdout, "isatty", None)
            self.stdout_isatty = bool(isatty and isatty())

    @property
    def no_color(self) -> bool:
        # https://no-color.org: present and non-empty disables colour.
        return bool(self.env.get("NO_COLOR"))

    @property
    def is_ci(self) -> bool:
        return _truthy(self.env.get("CI")) or "JENKINS_URL" in self.env or "BUILD_ID" in self.env

    @property
    def rich_output(self) -> bool:
        """Colour and box drawing only on a real terminal, never with NO_COLOR, never in CI logs."""
        if _truthy(self.env.get("FORCE_COLOR")) and not self.no_color:
            return True
        return bool(self.stdout_isatty) and not self.no_color and self.env.get("TERM") != "dumb"
