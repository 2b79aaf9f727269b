"""Issue 7 against the real daemon and the stand-in `earthly` (which honours the proxy variable):
in a bridge container a bare build fails and `earthly-doctor run` succeeds with one explanatory line; on the host
the proxy stays on; the retry path; signals and exit codes pass through."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.harness.dockerd import install_fake_earthly, run_python_container

pytestmark = pytest.mark.daemon

VAR = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"
REFUSED = re.compile(r"dial tcp 127\.0\.0\.1:(\d+): connect: connection refused")


@pytest.fixture
def fake_bin(tmp_path):
    install_fake_earthly(tmp_path / "bin")
    install_fake_earthly(tmp_path / "bin", "earth")
    return tmp_path / "bin"


def in_bridge(daemon, fake_bin, argv, env=None):
    result = run_python_container(daemon, argv, env=env, extra=["-v", f"{fake_bin}:{fake_bin}:ro"])
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def doctor_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("earthly-doctor:")]


def test_bridge_container_bare_fails_and_run_succeeds_with_one_line(docker_daemon, fake_bin):
    code, out, err = in_bridge(docker_daemon, fake_bin, [str(fake_bin / "earthly"), "+img"])
    assert code == 1 and REFUSED.search(out), out + err

    code, out, err = in_bridge(docker_daemon, fake_bin, ["-m", "earthly_doctor", "run", "--", str(fake_bin / "earthly"), "+img"])
    assert code == 0, out + err
    assert "Image +img output as" in out
    assert "pull ping error" not in out  # no failed first attempt: the preflight got it right
    lines = doctor_lines(err)
    assert len(lines) == 1, err
    assert "cannot reach 127.0.0.1 in this network namespace" in lines[0]
    assert "proxy-unreachable-bridge-container" in lines[0]
    assert f"running with {VAR}=true for this run" in lines[0]
    assert "earthly-doctor:" not in out  # the build's stdout is the build's alone


def test_bridge_container_earthbuild_gets_the_earth_variable(docker_daemon, fake_bin):
    code, out, err = in_bridge(docker_daemon, fake_bin, ["-m", "earthly_doctor", "run", "--", str(fake_bin / "earth"), "+img"])
    assert code == 0, out + err
    assert "EARTH_DISABLE_REMOTE_REGISTRY_PROXY=true" in doctor_lines(err)[0]


def test_bridge_container_retry_path(docker_daemon, fake_bin):
    """Preflight off: the first attempt fails with Earthly's error, the diagnosis is printed, the retry succeeds."""
    code, out, err = in_bridge(
        docker_daemon, fake_bin, ["-m", "earthly_doctor", "run", "--no-preflight", "--", str(fake_bin / "earthly"), "+img"]
    )
    assert code == 0, out + err
    assert out.count("pull ping error") == 1 and out.count("Image +img output as") == 1
    assert out.index("pull ping error") < out.index("Image +img output as")
    port = REFUSED.search(out).group(1)
    lines = doctor_lines(err)
    assert len(lines) == 2, err
    assert f"127.0.0.1:{port}" in lines[0] and "Earthly's registry proxy is on another loopback" in lines[0]
    assert lines[1] == f"earthly-doctor: retrying once with {VAR}=true"


def test_bridge_container_no_retry_keeps_the_failure(docker_daemon, fake_bin):
    code, out, err = in_bridge(
        docker_daemon, fake_bin,
        ["-m", "earthly_doctor", "run", "--no-preflight", "--no-retry", "--", str(fake_bin / "earthly"), "+img"],
    )
    assert code == 1
    assert out.count("pull ping error") == 1 and "Image +img output as" not in out
    assert "not retrying (--no-retry)" in err


def test_bridge_container_preflight_prints_the_env_lines(docker_daemon, fake_bin):
    code, out, err = in_bridge(docker_daemon, fake_bin, ["-m", "earthly_doctor", "preflight"])
    assert code == 0, err
    assert out == f"{VAR}=true\n"
    assert f"build with {VAR}=true" in err


def test_host_network_container_keeps_the_proxy(docker_daemon, fake_bin):
    """A container on the daemon's network (`--network host`): the canary arrives, nothing is changed or said."""
    result = run_python_container(
        docker_daemon, ["-m", "earthly_doctor", "run", "--", str(fake_bin / "earthly"), "-V", "+img"],
        network="host", extra=["-v", f"{fake_bin}:{fake_bin}:ro"],
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, out + err
    assert "Starting registry proxy on 127.0.0.1:" in out and "Image +img output as" in out
    assert doctor_lines(err) == []


def host_env(docker_daemon, fake_bin, **extra):
    env = {**os.environ, "DOCKER_HOST": docker_daemon.host, "PATH": f"{fake_bin}:{os.environ['PATH']}", "NO_COLOR": "1", **extra}
    env.pop(VAR, None)
    return env


def test_on_the_host_the_proxy_stays_on(docker_daemon, fake_bin, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "earthly_doctor", "run", "--", "earthly", "-V", "+img"],
        env=host_env(docker_daemon, fake_bin), capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"registry-proxy \| Starting registry proxy on 127\.0\.0\.1:\d+", result.stdout)
    assert "Image +img output as" in result.stdout
    assert doctor_lines(result.stderr) == []
    preflight = subprocess.run(
        [sys.executable, "-m", "earthly_doctor", "preflight"],
        env=host_env(docker_daemon, fake_bin), capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert preflight.returncode == 0 and preflight.stdout == ""


def test_exit_codes_pass_through(docker_daemon, fake_bin, tmp_path):
    env = host_env(docker_daemon, fake_bin)
    no_target = subprocess.run([sys.executable, "-m", "earthly_doctor", "run", "--", "earthly"], env=env,
                               capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert no_target.returncode == 2 and "no target reference given" in no_target.stderr
    invalid = subprocess.run([sys.executable, "-m", "earthly_doctor", "run", "--", "earthly", "+img"],
                             env={**env, VAR: "yes"}, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert invalid.returncode == 1 and "could not parse" in invalid.stderr
    assert "earthly-doctor: warning:" in invalid.stderr and "'yes'" in invalid.stderr
    shell = subprocess.run([sys.executable, "-m", "earthly_doctor", "run", "--", "sh", "-c", "exit 42"], env=env,
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert shell.returncode == 42


def test_sigterm_to_run_reaches_the_build(docker_daemon, fake_bin, tmp_path):
    """A Jenkins abort: SIGTERM to earthly-doctor ends the held build at once, and the exit code says so."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "earthly_doctor", "run", "--", "earthly", "--hold", "60", "+img"],
        env=host_env(docker_daemon, fake_bin), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        start_new_session=True,
    )
    try:
        began = time.monotonic()
        line = b""
        while b"SAVE IMAGE" not in line and time.monotonic() - began < 60:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert b"SAVE IMAGE" in line, proc.stderr.read().decode()
        earthly_pids = list(_children(proc.pid))
        assert earthly_pids, "the build is not running under earthly-doctor"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert code == 128 + signal.SIGTERM
    assert time.monotonic() - began < 30  # not the 60 s hold
    for pid in earthly_pids:
        assert not _alive(pid), f"build process {pid} survived the SIGTERM"


def _children(pid: int) -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process(pid).children(recursive=True)]


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_docker_stop_of_the_agent_container_ends_the_build(docker_daemon, fake_bin):
    """The Jenkins abort shape: earthly-doctor is PID 1 of a bridge container; `docker stop` sends it SIGTERM, the
    build gets it, and the container ends at once with 143 instead of waiting for the kill."""
    from tests.harness.dockerd import IMAGE, container_path, python_mounts

    name = f"ed-run-stop-{os.getpid()}"
    docker_daemon.docker(
        "run", "-d", "--name", name, *python_mounts(), "-v", f"{fake_bin}:{fake_bin}:ro",
        "-v", f"{docker_daemon.socket}:/var/run/docker.sock", "-e", f"PATH={container_path()}", "-e", "NO_COLOR=1",
        "-w", "/tmp", IMAGE, sys.executable, "-m", "earthly_doctor", "run", "--",
        str(fake_bin / "earthly"), "--hold", "60", "+img",
    )
    try:
        began = time.monotonic()
        logs = ""
        while "SAVE IMAGE" not in logs and time.monotonic() - began < 60:
            time.sleep(0.2)
            logs = docker_daemon.docker("logs", name, check=False).stdout.decode()
        assert "SAVE IMAGE" in logs, logs
        stopped = time.monotonic()
        docker_daemon.docker("stop", "-t", "30", name, timeout=60)
        assert time.monotonic() - stopped < 15  # SIGTERM did it, not the SIGKILL after 30 s
        state = docker_daemon.docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.decode().strip()
        assert state == str(128 + signal.SIGTERM)
        err = docker_daemon.docker("logs", name, check=False).stderr.decode()
        assert "running with EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true" in err  # the preflight still spoke first
    finally:
        docker_daemon.docker("rm", "-f", name, check=False)
