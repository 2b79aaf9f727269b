"""`assert_valid_report(data)`: check a dict against the v1 report schema, with every violation in the message."""

from __future__ import annotations

from typing import Any

import jsonschema

from earthly_doctor.schema import load


def report_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load("report-v1"), format_checker=jsonschema.FormatChecker())


def report_errors(data: Any) -> list[str]:
    """Each violation as 'path: message', sorted; empty when valid."""
    errors = report_validator().iter_errors(data)
    return sorted(f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors)


def assert_valid_report(data: Any) -> None:
    errors = report_errors(data)
    assert not errors, "report does not match schema report-v1:\n  " + "\n  ".join(errors)
