"""commands/fix.py with an injected diagnoser: live source, verify runs only the remedy's installed checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from earthly_doctor.commands.fix import FixRequest, fix
from earthly_doctor.errors import UsageError
from earthly_doctor.model import Confidence, Evidence, Finding, Report, Status, Verdict


def live_report(only: list[str]) -> Report:
    findings = [Finding("ED110", "d", Status.PASS, evidence=[Evidence("daemon_kind", "local", "t")])]
    if only:
        findings = [Finding(code, code, Status.PASS, summary="after") for code in only]
    return Report(findings, Verdict("proxy-unreachable-bridge-container", "s", Confidence.PROVEN, ["disable-proxy", "host-network"]), "0")


def test_live_diagnosis_then_verify_with_the_installed_checks(tmp_path: Path):
    calls: list[list[str]] = []

    def diagnoser(only):
        calls.append(list(only))
        return live_report(only)

    (tmp_path / "run.sh").write_text("docker run --rm earthly/earthly +a\n")
    request = FixRequest(remedy="host-network", files=[tmp_path / "run.sh"], apply=True, verify=True, cwd=tmp_path)
    result = fix(request, diagnoser, check_codes={"ED110", "ED120"})
    assert calls == [[], ["ED120"]]  # the diagnosis, then only the verify check that is installed (no ED103)
    assert result.applied.changed and [f.code for f in result.verify_report.findings] == ["ED120"]
    assert (tmp_path / "run.sh").read_text() == "docker run --network host --rm earthly/earthly +a\n"


def test_no_diagnosis_source_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError):
        fix(FixRequest(cwd=tmp_path), None)
    with pytest.raises(UsageError):
        fix(FixRequest(cwd=tmp_path, style="shout"), None)
    with pytest.raises(UsageError):
        fix(FixRequest(cwd=tmp_path, remedy="reboot"), None)
