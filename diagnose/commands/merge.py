"""`merge`: fold many agents' JSON reports into one fleet table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from earthly_doctor.errors import UsageError
from earthly_doctor.fsutil import UnsafePath, read_regular
from earthly_doctor.fleet import Fleet, fold
from earthly_doctor.model import SCHEMA_ID
from earthly_doctor.sanitize import clean_data

# A report is a few kilobytes; anything this large is not one, and must not be read into memory.
MAX_REPORT_BYTES = 16 * 1024 * 1024


def _read_report(path: Path) -> dict[str, Any]:
    """A v1 report from a regular file of bounded size; every problem is one line naming the file."""
    try:
        data = read_regular(path, limit=MAX_REPORT_BYTES, follow=True)
    except UnsafePath as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    if data is None:
        raise UsageError(f"{path}: no such file")
    try:
        report = json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        raise UsageError(f"{path}: not JSON (write reports with --format json or --output json:PATH)") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA_ID:
        found = report.get("schema") if isinstance(report, dict) else type(report).__name__
        raise UsageError(f"{path}: not an earthly-doctor v1 report (schema {found!r})")
    # Reports come from other machines: their strings reach this terminal, so they pass the sanitiser first.
    return dict(clean_data(report))


def merge(paths: list[str]) -> Fleet:
    if not paths:
        raise UsageError("merge: give at least one report file")
    return fold([(p, _read_report(Path(p))) for p in paths])
