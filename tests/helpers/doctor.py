"""Run the real CLI in a subprocess with a given environment and folder, and read its JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers.schema import assert_valid_report


def doctor(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "earthly_doctor", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def diagnose(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """`diagnose --format json --exit-zero`: never a traceback, always a report valid against the v1 schema."""
    result = doctor("diagnose", "--format", "json", "--exit-zero", env=env, cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert_valid_report(report)
    return report


def finding(report: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f for f in report["findings"] if f["code"] == code)


def fact(f: dict[str, Any], name: str) -> Any:
    return next((e["value"] for e in f["evidence"] if e["fact"] == name), None)
