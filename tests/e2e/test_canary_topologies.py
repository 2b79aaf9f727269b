"""Issue 2 (a)–(f): `earthly-doctor diagnose` against a real dockerd, from the host and from containers.

These run the installed CLI as a separate process (on the host, or inside a container that bind-mounts the host's
Python), so they exercise exactly what a user runs in a Jenkins stage.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.harness.dockerd import run_python_container
from tests.harness.silent_socket import SilentSocket

pytestmark = pytest.mark.daemon


def doctor(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "earthly_doctor", *args], capture_output=True, text=True, env=full_env, timeout=timeout
    )


def finding(report: dict, code: str) -> dict:
    return next(f for f in report["findings"] if f["code"] == code)


def evidence(f: dict, fact: str):
    return next((e["value"] for e in f["evidence"] if e["fact"] == fact), None)


def assert_schema(report: dict) -> None:
    try:
        from tests.helpers.schema import assert_valid_report
    except ImportError:  # the schema helper lands with the report formats; the envelope is still checked here
        assert report["schema"] == "earthly-doctor/report/v1"
        return
    assert_valid_report(report)


def test_a_host_reaches_its_own_loopback(docker_daemon):
    result = doctor("diagnose", "--format", "json", "--docker-host", docker_daemon.host)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert_schema(report)
    canary = finding(report, "ED120")
    assert canary["status"] == "pass"
    assert evidence(canary, "nonce_arrived") is True
    assert report["verdict"]["cause"] == "healthy"
    assert report["verdict"]["confidence"] == "proven"


def test_b_bridge_container_is_refused(docker_daemon):
    """The Jenkins docker-agent shape: bridge network, host daemon through the mounted socket."""
    result = run_python_container(docker_daemon, ["-m", "earthly_doctor", "diagnose", "--format", "json"])
    assert result.returncode == 1, result.stderr.decode()
    report = json.loads(result.stdout)
    assert_schema(report)
    canary = finding(report, "ED120")
    assert canary["status"] == "fail"
    port = evidence(canary, "port")
    error = evidence(canary, "daemon_error")
    assert f"dial tcp 127.0.0.1:{port}: connect: connection refused" in error
    assert evidence(canary, "nonce_arrived") is False
    assert report["verdict"]["cause"].startswith("proxy-unreachable")
    assert report["verdict"]["remedies"][0] == "disable-proxy"


def test_b_plain_report_in_a_ci_log_has_no_ansi(docker_daemon):
    result = run_python_container(docker_daemon, ["-m", "earthly_doctor", "diagnose"])
    out = result.stdout.decode()
    assert result.returncode == 1
    assert "\x1b[" not in out and "│" not in out and "╭" not in out
    assert out.startswith("Verdict: proxy-unreachable")
    assert "connection refused" in out
    assert "Traceback" not in result.stderr.decode()


def test_c_host_network_container_reaches(docker_daemon):
    result = run_python_container(docker_daemon, ["-m", "earthly_doctor", "diagnose", "--format", "json"], network="host")
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert finding(report, "ED120")["status"] == "pass"
    assert report["verdict"]["cause"] == "healthy"


def test_d_daemon_gone_missing_socket(tmp_path):
    result = doctor("diagnose", "--format", "json", "--docker-host", f"unix://{tmp_path}/docker.sock")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert_schema(report)
    daemon = finding(report, "ED110")
    assert daemon["status"] == "fail"
    assert daemon["error_kind"] == "no-daemon"
    assert finding(report, "ED120")["status"] == "skip"
    assert report["verdict"]["cause"] == "docker-unreachable"


def test_d_daemon_stopped_stale_socket(tmp_path):
    """A daemon that died leaves its socket file behind: connecting is refused."""
    path = tmp_path / "docker.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    result = doctor("diagnose", "--docker-host", f"unix://{path}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "FAIL ED110" in result.stdout
    assert "connection refused" in result.stdout


@pytest.mark.parametrize("timeout,probe_timeout", [(3.0, 30.0), (3.0, 5.0), (10.0, 2.0), (2.0, 2.0), (2.0, 5.0)])
def test_e_silent_daemon_ends_within_deadline(tmp_path, timeout, probe_timeout):
    """A daemon that accepts and never answers is a finding (docker-unreachable, exit 1) within --timeout + 1 s,
    whichever of --timeout and --probe-timeout is the shorter: each probe is clamped to what is left of the run."""
    silent = SilentSocket(tmp_path / "docker.sock")
    try:
        began = time.monotonic()
        result = doctor(
            "diagnose", "--format", "json", "--docker-host", f"unix://{silent.path}",
            "--timeout", str(timeout), "--probe-timeout", str(probe_timeout),
        )
        elapsed = time.monotonic() - began
    finally:
        silent.close()
    # The bound is the run's deadline + 1 s, measured from outside (interpreter start-up included).
    assert elapsed <= timeout + 1.0, elapsed
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert_schema(report)
    daemon = finding(report, "ED110")
    assert daemon["status"] == "fail" and daemon["error_kind"] == "no-answer", daemon["summary"]
    assert daemon["duration_ms"] <= (min(timeout, probe_timeout) + 0.5) * 1000  # the probe's own bound held
    assert "timed out" in daemon["summary"]
    assert report["verdict"]["cause"] == "docker-unreachable"
    assert result.returncode == 1


def test_e_silent_tcp_daemon_and_a_real_one_under_a_short_deadline(docker_daemon):
    """The same bound over TCP (DOCKER_HOST=tcp://…, a listener that accepts and never answers), and a real
    daemon under --timeout 2 with a long --probe-timeout: the daemon and the canary still answer, within the
    deadline + 1 s (the verdict itself may name another agent's build running on this machine at the time)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    try:
        began = time.monotonic()
        result = doctor("diagnose", "--format", "json", "--docker-host", f"tcp://127.0.0.1:{port}",
                        "--timeout", "2", "--probe-timeout", "30")
        elapsed = time.monotonic() - began
    finally:
        server.close()
    assert elapsed <= 3.0, elapsed
    report = json.loads(result.stdout)
    assert (report["verdict"]["cause"], result.returncode) == ("docker-unreachable", 1)
    assert finding(report, "ED110")["error_kind"] == "no-answer"
    began = time.monotonic()
    result = doctor("diagnose", "--format", "json", "--docker-host", docker_daemon.host,
                    "--timeout", "2", "--probe-timeout", "30")
    elapsed = time.monotonic() - began
    assert elapsed <= 3.0, elapsed
    report = json.loads(result.stdout)
    assert finding(report, "ED110")["status"] == "pass"
    assert finding(report, "ED120")["status"] == "pass", finding(report, "ED120")["summary"]


def test_f_socket_the_user_may_not_open(docker_daemon):
    """An unprivileged user (nobody, not in the socket's group) in a container with the socket mounted."""
    mode = oct(os.stat(docker_daemon.socket).st_mode & 0o777)
    assert mode in ("0o660", "0o600"), f"socket mode {mode} would let nobody in; the test needs a guarded socket"
    result = run_python_container(
        docker_daemon, ["-m", "earthly_doctor", "diagnose", "--format", "json"], user="65534:65534"
    )
    assert result.returncode == 1, result.stderr.decode()
    assert b"Traceback" not in result.stderr
    report = json.loads(result.stdout)
    daemon = finding(report, "ED110")
    assert daemon["status"] == "fail"
    assert daemon["error_kind"] == "permission-denied"
    assert "docker group" in daemon["summary"] or "group" in daemon["summary"]
