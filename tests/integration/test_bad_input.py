"""Bad input is exit 2 with one clear line, never an internal error (exit 3), a hang or a silently ignored option."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SECONDS_OPTIONS = [
    ("diagnose", "--timeout"), ("diagnose", "--probe-timeout"), ("fix", "--timeout"), ("fix", "--probe-timeout"),
    ("bundle", "--timeout"), ("preflight", "--timeout"), ("run", "--preflight-timeout"),
    ("jenkins triage job", "--timeout"), ("jenkins triage job", "--request-timeout"), ("jenkins triage job", "--wait"),
]


def run(cwd: Path, *args: str, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(cwd), "JENKINS_URL": "http://127.0.0.1:9"}
    return subprocess.run([sys.executable, "-m", "earthly_doctor", *args], cwd=cwd, capture_output=True, text=True,
                          check=False,
                          timeout=60, env=env, **kw)


def usage_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "rror" in line]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("content", ["[]", '"text"', "null", "3", "deep"])
def test_fix_from_json_that_is_not_a_report(tmp_path: Path, content: str):
    (tmp_path / "r.json").write_text("[" * 100_000 + "]" * 100_000 if content == "deep" else content)
    usage_error(run(tmp_path, "fix", "--from", "r.json"), "--from r.json")


@pytest.mark.parametrize("value", ["inf", "1e309", "nan", "-1", "-inf"])
@pytest.mark.parametrize("command,option", SECONDS_OPTIONS)
def test_seconds_options_refuse_what_no_timer_can_hold(tmp_path: Path, command: str, option: str, value: str):
    proc = run(tmp_path, *command.split(), f"{option}={value}", "--", "true")
    usage_error(proc, option)


@pytest.mark.parametrize("args", [["triage", "-"], ["diagnose", "--only", "ED101", "--log", "-"],
                                  ["fix", "--log", "-"]])
def test_stdin_closed(tmp_path: Path, args: list[str]):
    closer = "import os, subprocess, sys; os.close(0); sys.exit(subprocess.run(sys.argv[1:]).returncode)"
    proc = subprocess.run([sys.executable, "-c", closer, sys.executable, "-m", "earthly_doctor", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"}, check=False)
    usage_error(proc, "stdin is closed")


@pytest.mark.parametrize("args", [["triage", "build.log"], ["diagnose", "--only", "ED101"],
                                  ["fix", "--from", "r.json"], ["jenkins", "triage", "job"]])
def test_a_missing_signatures_folder_is_an_error_not_ignored(tmp_path: Path, args: list[str]):
    (tmp_path / "build.log").write_text("ok\n")
    (tmp_path / "r.json").write_text("{}")
    usage_error(run(tmp_path, *args, "--signatures", "/nonexistent"), "--signatures /nonexistent", "not a directory")


@pytest.mark.parametrize("command", ["run", "preflight"])
def test_an_unknown_option_before_the_separator_is_not_run_as_the_command(tmp_path: Path, command: str):
    proc = run(tmp_path, command, "--bogus", "--", "touch", "ran")
    usage_error(proc, "no such option: --bogus")
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("url", ["http://[::1", "http://ci:99999/job/x/"])
def test_a_broken_jenkins_url(tmp_path: Path, url: str):
    usage_error(run(tmp_path, "jenkins", "triage", url), "not a valid URL")


def test_a_device_as_a_log_is_refused_but_a_fifo_is_read(tmp_path: Path):
    usage_error(run(tmp_path, "triage", "/dev/zero"), "is a device")
    proc = subprocess.run(["bash", "-c", f'"{sys.executable}" -m earthly_doctor triage <(printf "ok\\n")'],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
