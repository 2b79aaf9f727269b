"""The versioned JSON envelope (DESIGN §6a)."""

from __future__ import annotations

import json

from earthly_doctor.model import Report


def render(report: Report, **_: object) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False, default=str) + "\n"
