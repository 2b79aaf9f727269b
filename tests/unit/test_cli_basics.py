"""CLI contracts that need no daemon: --version, the catalog, explain, usage errors (exit 2), outputs, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from earthly_doctor.cli.output import exit_status, parse_outputs
from earthly_doctor.errors import UsageError
from earthly_doctor.exitstatus import ExitStatus
from earthly_doctor.model import Confidence, Finding, Report, Status, Verdict


def cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "earthly_doctor", *args], cwd=cwd,
        capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def test_version_fast_path_and_through_typer():
    from earthly_doctor import __version__

    assert cli("--version").stdout.strip() == f"earthly-doctor {__version__}"
    # With another argument the fast path is skipped and typer's eager option answers the same.
    assert cli("--version", "checks").stdout.strip() == f"earthly-doctor {__version__}"


def test_version_does_not_import_the_heavy_libraries():
    code = (
        "import sys; from earthly_doctor.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('typer', 'rich', 'docker', 'psutil', 'jenkins') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_checks_lists_codes_and_explain_prints_the_doc():
    listing = cli("checks")
    assert listing.returncode == 0
    assert "ED110" in listing.stdout and "ED120" in listing.stdout
    doc = cli("explain", "ed120")
    assert doc.returncode == 0
    for part in ("ED120", "What it checks", "Why it matters", "Example", "How to fix"):
        assert part in doc.stdout


def test_explain_unknown_code_is_a_usage_error():
    result = cli("explain", "ED999")
    assert result.returncode == ExitStatus.USAGE
    assert "no check 'ED999'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["diagnose", "--only", "ED999"], "unknown check code or category: ED999"),
        (["diagnose", "--format", "yaml"], "--format 'yaml'"),
        (["diagnose", "--fail-on", "sometimes"], "--fail-on 'sometimes'"),
        (["diagnose", "--output", "xml:out.xml"], "unknown format 'xml'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "earthly_doctor", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == ExitStatus.USAGE, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # bad input changes nothing


def test_unknown_option_is_exit_2():
    assert cli("diagnose", "--no-such-flag").returncode == 2


def test_output_files_are_written_in_each_format(tmp_path):
    """A missing folder is created inside the working directory (only there: see test_write_safety)."""
    json_path, text_path = tmp_path / "r.json", tmp_path / "sub" / "r.txt"
    result = cli(
        "diagnose", "--docker-host", f"unix://{tmp_path}/none.sock",
        "--output", f"json:{json_path}", "--output", "text:sub/r.txt", "--format", "json", cwd=tmp_path,
    )
    assert result.returncode == 1
    on_disk = json.loads(json_path.read_text())
    assert on_disk["verdict"]["cause"] == "docker-unreachable"
    assert json.loads(result.stdout)["verdict"] == on_disk["verdict"]
    assert text_path.read_text().startswith("Verdict: docker-unreachable")
    assert not list(tmp_path.rglob(".*.tmp"))  # atomic writes leave no temp files


def test_exit_zero_and_fail_on(tmp_path):
    result = cli("diagnose", "--docker-host", f"unix://{tmp_path}/none.sock", "--exit-zero")
    assert result.returncode == 0
    assert "FAIL ED110" in result.stdout


def _report(*statuses: Status) -> Report:
    findings = [Finding(f"ED1{i:02d}", "t", s) for i, s in enumerate(statuses)]
    return Report(findings, Verdict("unknown", "", Confidence.UNKNOWN), "0")


def test_exit_status_thresholds():
    assert exit_status(_report(Status.PASS, Status.WARN), "fail", False) == ExitStatus.OK
    assert exit_status(_report(Status.PASS, Status.WARN), "warn", False) == ExitStatus.FINDINGS
    assert exit_status(_report(Status.ERROR), "error", False) == ExitStatus.FINDINGS
    assert exit_status(_report(Status.ERROR), "fail", False) == ExitStatus.OK
    assert exit_status(_report(Status.FAIL), "fail", False) == ExitStatus.FINDINGS
    assert exit_status(_report(Status.FAIL), "fail", True) == ExitStatus.OK
    assert exit_status(_report(Status.FAIL), "never", False) == ExitStatus.OK
    assert exit_status(_report(Status.SKIP), "warn", False) == ExitStatus.OK


def test_parse_outputs():
    assert [(n, str(p)) for n, p in parse_outputs(["json:a.json", "b.txt", "/abs/c.txt"])] == [
        ("json", "a.json"), ("text", "b.txt"), ("text", "/abs/c.txt"),
    ]
    with pytest.raises(UsageError):
        parse_outputs(["json:"])


def test_report_round_trips_through_json():
    report = _report(Status.FAIL, Status.PASS)
    report.findings[0].extra["signature"] = "proxy-refused"
    again = Report.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.to_dict() == report.to_dict()
    with pytest.raises(ValueError):
        Report.from_dict({"schema": "something/else"})


def test_an_output_file_that_cannot_be_written_fails_the_step_unless_exit_zero(tmp_path):
    """Exit 0 after `could not write` would leave Jenkins' junit step to fail later with no hint why."""
    import subprocess

    (tmp_path / "file").write_text("")
    base = [sys.executable, "-m", "earthly_doctor", "diagnose", "--only", "ED101", "--format", "json",
            "--output", f"junit:{tmp_path / 'file' / 'r.xml'}", "--output", f"json:{tmp_path / 'ok.json'}"]
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(base, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and result.stderr.count("could not write") == 1 and "Traceback" not in result.stderr
    assert (tmp_path / "ok.json").exists() and json.loads(result.stdout)["schema"]  # the rest is still written
    zero = subprocess.run([*base, "--exit-zero"], capture_output=True, text=True, timeout=60, env=env)
    assert zero.returncode == 0 and "could not write" in zero.stderr


def test_a_closed_stdout_is_not_an_internal_error(tmp_path):
    """`earthly-doctor diagnose >&-`: Python sets sys.stdout to None; the report files and exit code still come out."""
    import subprocess

    out = tmp_path / "r.json"
    result = subprocess.run([sys.executable, "-m", "earthly_doctor", "diagnose", "--only", "ED101", "--output", f"json:{out}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
                            env={**os.environ, "NO_COLOR": "1"}, preexec_fn=lambda: os.close(1))
    assert result.returncode == 0 and "internal error" not in result.stderr, result.stderr
    assert json.loads(out.read_text())["schema"] == "earthly-doctor/report/v1"
