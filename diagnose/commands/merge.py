"""`merge`: fold many agents' JSON reports into one fleet table."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from earthly_doctor.errors import UsageError
from earthly_doctor.fleet import Fleet, fold
from earthly_doctor.model import SCHEMA_ID

# A report is a few kilobytes; anything this large is not one, and must not be read into memory.
MAX_REPORT_BYTES = 16 * 1024 * 1024


def _read_report(path: Path) -> dict[str, Any]:
    """A v1 report from a regular file of bounded size; every problem is one line naming the file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{path}: not a regular file")
        data = handle.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise UsageError(f"{path}: larger than {MAX_REPORT_BYTES // (1024 * 1024)} MiB, not an earthly-doctor report")
    try:
        report = json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        raise UsageError(f"{path}: not JSON (write reports with --format json or --output json:PATH)") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA_ID:
        found = report.get("schema") if isinstance(report, dict) else type(report).__name__
        raise UsageError(f"{path}: not an earthly-doctor v1 report (schema {found!r})")
    return report


def merge(paths: list[str]) -> Fleet:
    if not paths:
        raise UsageError("merge: give at least one report file")
    return fold([(p, _read_report(Path(p))) for p in paths])
