"""`earthly-doctor fix` end to end as a process: dry run, apply, idempotence, undo, refusals, sources, JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from earthly_doctor.checks.ed131_buildkitd import Buildkitd
from earthly_doctor.model import Confidence, Evidence, Finding, Report, Status, Verdict

ROOT = Path(__file__).resolve().parents[2]
FAILURE = (
    "Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    "\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
    'Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection refused: exit status 1\n'
)


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "HOME": str(cwd / "home")}
    env.pop("EARTHLY_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "earthly_doctor", "fix", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=env)


def write_report(path: Path, cause="proxy-unreachable-bridge-container", kind="local",
                 remedies=("disable-proxy", "host-network", "pinned-port"), extra=()) -> Path:
    findings = [Finding("ED110", "Docker daemon reachable", Status.PASS, evidence=[Evidence("daemon_kind", kind, "test")]),
                Finding("ED120", "canary", Status.FAIL, summary="connection refused"), *extra]
    report = Report(findings, Verdict(cause, "the proxy is unreachable", Confidence.PROVEN, list(remedies)), "0.1.0")
    path.write_text(json.dumps(report.to_dict()))
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "Jenkinsfile").write_bytes((ROOT / "examples/jenkinsfiles/crlf.Jenkinsfile").read_bytes())
    write_report(tmp_path / "report.json")
    return tmp_path


def test_dry_run_shows_ranked_diffs_and_writes_nothing(work: Path):
    before = (work / "Jenkinsfile").read_bytes()
    proc = cli(work, "--from", "report.json")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Remedies for this topology, best first: disable-proxy, host-network" in out
    assert "not offered: pinned-port" in out
    assert "+++ b/Jenkinsfile" in out and "+        EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY = 'true'" in out
    assert "CIS Docker Benchmark 5.10" in out
    assert "Dry run: nothing was written" in out
    assert "\x1b[" not in out
    assert (work / "Jenkinsfile").read_bytes() == before
    assert not list(work.glob("*.earthly-doctor.*"))


def test_apply_then_apply_again_then_undo(work: Path):
    original = (work / "Jenkinsfile").read_bytes()
    first = cli(work, "--from", "report.json", "--apply", "--remedy", "host-network")
    assert first.returncode == 0, first.stderr
    assert "Jenkinsfile: written (backup: Jenkinsfile.earthly-doctor.bak)" in first.stdout
    fixed = (work / "Jenkinsfile").read_bytes()
    assert b"args '--network host -v /var/run/docker.sock:/var/run/docker.sock'\r\n" in fixed
    assert fixed.count(b"\r\n") == fixed.count(b"\n")  # CRLF stays CRLF
    assert (work / "Jenkinsfile.earthly-doctor.bak").read_bytes() == original

    second = cli(work, "--from", "report.json", "--apply", "--remedy", "host-network")
    assert second.returncode == 0
    assert "host-network: already applied; nothing changed" in second.stdout
    assert (work / "Jenkinsfile").read_bytes() == fixed
    assert (work / "Jenkinsfile.earthly-doctor.bak").read_bytes() == original

    undo = cli(work, "--undo")
    assert undo.returncode == 0, undo.stderr
    assert "restored from Jenkinsfile.earthly-doctor.bak" in undo.stdout
    assert (work / "Jenkinsfile").read_bytes() == original
    assert not (work / "Jenkinsfile.earthly-doctor.bak").exists()


def test_apply_without_remedy_takes_the_best(work: Path):
    proc = cli(work, "--from", "report.json", "--apply")
    assert proc.returncode == 0, proc.stderr
    assert "disable-proxy: applied" in proc.stdout
    assert b"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY = 'true'\r\n" in (work / "Jenkinsfile").read_bytes()


def test_refusal_is_one_line_exit_2_and_nothing_written(work: Path):
    broken = b"pipeline {\n  agent { docker { image 'x'; args dockerArgs } }\n  stages { stage('a') { steps { sh 'earthly +a' } } }\n}\n"
    (work / "Jenkinsfile").write_bytes(broken)
    proc = cli(work, "--from", "report.json", "--apply", "--remedy", "host-network")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("earthly-doctor: error:")]
    assert errors == [
        ("earthly-doctor: error: Jenkinsfile:2: cannot edit safely: the agent's args is not a plain string; "
        "add --network host to it yourself; nothing was written")
    ]
    assert "Traceback" not in proc.stderr
    assert (work / "Jenkinsfile").read_bytes() == broken
    assert not list(work.glob("*.earthly-doctor.*"))


def test_remedy_that_does_not_apply_to_the_topology(tmp_path: Path):
    write_report(tmp_path / "r.json", cause="proxy-unreachable-remote-daemon", kind="remote", remedies=("disable-proxy", "pinned-port"))
    proc = cli(tmp_path, "--from", "r.json", "--remedy", "host-network")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "earthly-doctor: error: host-network does not apply here (verdict proxy-unreachable-remote-daemon, daemon remote); "
        "remedies that do: disable-proxy"
    )


@pytest.mark.parametrize(
    "content,message",
    [(None, "--from r.json: no such file"), ("{", "--from r.json: not JSON (line 1: Expecting property name enclosed in double quotes)"),
     ('{"schema": "other"}', "--from r.json: not an earthly-doctor v1 report (schema is 'other')")],
)
def test_bad_report_is_a_usage_error(tmp_path: Path, content, message):
    if content is not None:
        (tmp_path / "r.json").write_text(content)
    proc = cli(tmp_path, "--from", "r.json")
    assert proc.returncode == 2 and proc.stderr.strip() == f"earthly-doctor: error: {message}"


def test_json_output_and_no_jenkinsfile_creates_env(tmp_path: Path):
    write_report(tmp_path / "r.json")
    proc = cli(tmp_path, "--from", "r.json", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["schema"] == "earthly-doctor/fix/v1" and data["mode"] == "dry-run"
    assert data["ranked"] == ["disable-proxy", "host-network"]
    edit = data["plans"][0]["edits"][0]
    assert edit["path"] == ".env" and edit["diff"].startswith("--- /dev/null\n+++ b/.env\n")
    assert not (tmp_path / ".env").exists()


def test_pinned_port_edits_the_config_when_8371_is_published(tmp_path: Path):
    # What ED131 publishes when 8371 is published and the daemon reaches it (as its JSON report carries it).
    published = Finding("ED131", "buildkitd", Status.PASS, extra=Buildkitd(pinned_port_ok=True).as_extra())
    write_report(tmp_path / "r.json", extra=[published])
    config = tmp_path / "home" / ".earthly" / "config.yml"
    config.parent.mkdir(parents=True)
    config.write_text("# mine\nglobal:\n  cache_size_mb: 100\n")
    (tmp_path / ".env").write_text("A=1\n")
    proc = cli(tmp_path, "--from", "r.json", "--apply", "--remedy", "pinned-port")
    assert proc.returncode == 0, proc.stderr
    assert config.read_text() == "# mine\nglobal:\n  cache_size_mb: 100\n  local_registry_host: 'tcp://127.0.0.1:8371'\n"
    assert (tmp_path / ".env").read_text() == "A=1\nEARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n"
    assert "earthly config global.local_registry_host 'tcp://127.0.0.1:8371'" in proc.stdout


def test_from_a_log_triage(tmp_path: Path):
    (tmp_path / "build.log").write_text("[Pipeline] sh\n+ earthly +image\n" + FAILURE)
    (tmp_path / "build.sh").write_text("#!/bin/sh\nearthly +image\n")
    proc = cli(tmp_path, "--log", "build.log", "--file", "build.sh")
    assert proc.returncode == 0, proc.stderr
    assert "Verdict: proxy-unreachable" in proc.stdout
    assert "+earthly --disable-remote-registry-proxy +image" in proc.stdout
    assert "host-network" not in proc.stdout.split("Remedies for this topology, best first:")[1].splitlines()[0]


def test_healthy_report_has_nothing_to_fix(tmp_path: Path):
    write_report(tmp_path / "r.json", cause="healthy", remedies=())
    proc = cli(tmp_path, "--from", "r.json")
    assert proc.returncode == 0 and "nothing to fix" in proc.stdout


def test_verify_without_a_check_for_the_effect_says_so(work: Path):
    proc = cli(work, "--from", "report.json", "--apply", "--remedy", "disable-proxy", "--verify")
    assert proc.returncode == 0, proc.stderr
    assert "verify: " in proc.stdout


def test_print_only_remedy_says_there_is_nothing_to_write(tmp_path: Path):
    write_report(tmp_path / "r.json", cause="daemon-proxy-captures-loopback", remedies=("daemon-no-proxy", "disable-proxy"))
    proc = cli(tmp_path, "--from", "r.json", "--apply")
    assert proc.returncode == 0, proc.stderr
    assert 'Environment="NO_PROXY=127.0.0.1,localhost,::1"' in proc.stdout
    assert "daemon-no-proxy: nothing to write here; follow the print-only steps" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_kubernetes_jenkinsfile_host_network_is_print_only(tmp_path: Path):
    (tmp_path / "Jenkinsfile").write_bytes((ROOT / "examples/jenkinsfiles/kubernetes-agent.Jenkinsfile").read_bytes())
    write_report(tmp_path / "r.json")
    proc = cli(tmp_path, "--from", "r.json", "--apply", "--remedy", "host-network")
    assert proc.returncode == 0, proc.stderr
    assert "add `hostNetwork: true` to the pod spec" in proc.stdout
    assert "nothing to write here" in proc.stdout
    assert not (tmp_path / "Jenkinsfile.earthly-doctor.bak").exists()


def test_a_missing_jenkinsfile_is_named_as_missing_and_nothing_is_written(work: Path):
    before = (work / "Jenkinsfile").read_bytes()
    proc = cli(work, "--from", "report.json", "--apply", "--remedy", "disable-proxy", "--file", "Jenkinsfile", "--file", "ci/Jenkinsfile")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert errors == ["earthly-doctor: error: ci/Jenkinsfile: no such file; nothing was written"]
    assert (work / "Jenkinsfile").read_bytes() == before
    assert not list(work.glob("*.earthly-doctor.*")) and not (work / "ci").exists()
