"""The product owner's own topologies, against a real dockerd and the stand-in `earthly`:
Docker-in-Docker reached over tcp:// from the host namespace through `run` and `preflight`; a live build in one bridge
container diagnosed from another; odd environments (refused, silent and unusable endpoints, a missing docker context,
a tiny --timeout, HOME unset, an unprivileged user who cannot see others' /proc); every report format in one run.

Extra daemons run only inside namespaces created here (never a second `--bridge none` daemon on the host); every
namespace, container and mount is removed in teardown.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.harness import netns as nsh
from tests.harness.dockerd import IMAGE, container_path, install_fake_earthly, python_mounts, run_python_container, unmount_below
from tests.e2e.test_topologies import EXPORTED, REFUSED, finding
from tests.helpers.schema import assert_valid_report

pytestmark = pytest.mark.daemon

VAR = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"


def clean_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", **extra}
    for key in (VAR, "EARTHLY_CI", "DOCKER_CONTEXT"):
        if key not in extra:
            env.pop(key, None)
    return env


def doctor(*args: str, env: dict[str, str], timeout: float = 60, cwd: Path | None = None) -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "earthly_doctor", *args], capture_output=True, text=True, env=env,
                            timeout=timeout, cwd=cwd)
    return result, time.monotonic() - began


def report_of(result: subprocess.CompletedProcess) -> dict:
    assert "Traceback" not in result.stderr, result.stderr
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (rc={result.returncode}):\n{result.stdout}\n{result.stderr}") from None
    assert_valid_report(report)
    return report


@pytest.fixture
def fake_bin(tmp_path):
    install_fake_earthly(tmp_path / "bin")
    return tmp_path / "bin"


@pytest.fixture
def qa_namespace():
    reason = nsh.why_unavailable()
    if reason:
        pytest.skip(reason)
    with nsh.netns(os.getpid() % 30 + 225) as ns:  # 225-254: apart from test_topologies' 20-219
        yield ns


# 1. Docker-in-Docker from the host namespace: `run` and `preflight` -----------------------------------------------

def test_dind_over_tcp_run_disables_the_proxy_and_the_image_lands_in_that_daemon(docker_daemon, qa_namespace, fake_bin, tmp_path):
    with nsh.daemon_in_netns(qa_namespace, tcp=True) as dind:
        host = f"tcp://{qa_namespace.ns_addr}:2375"
        image = f"ed-qa/{uuid.uuid4().hex[:8]}:latest"
        env = clean_env(DOCKER_HOST=host, PATH=f"{fake_bin}:{os.environ['PATH']}", FAKE_EARTHLY_IMAGE=image)
        # The stand-in's `docker pull` goes to the DOCKER_HOST daemon: refused there (the host daemon would succeed).
        bare = subprocess.run(["earthly", "+img"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert bare.returncode == 1 and REFUSED in bare.stdout, bare.stdout + bare.stderr

        result = subprocess.run([sys.executable, "-m", "earthly_doctor", "run", "--", "earthly", "+img"], env=env,
                                capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert EXPORTED in result.stdout and "pull ping error" not in result.stdout
        lines = [line for line in result.stderr.splitlines() if line.startswith("earthly-doctor:")]
        assert len(lines) == 1 and "proxy-unreachable-remote-daemon" in lines[0] and f"{VAR}=true" in lines[0], result.stderr
        # docker load went to the DinD daemon, not the host's test daemon.
        assert dind.docker("image", "inspect", image, check=False).returncode == 0
        assert docker_daemon.docker("image", "inspect", image, check=False).returncode != 0

        pre, _ = doctor("preflight", "--format", "env", env=env, cwd=tmp_path)
        assert pre.returncode == 0 and pre.stdout == f"{VAR}=true\n", pre.stdout + pre.stderr
        assert "proxy-unreachable-remote-daemon" in pre.stderr

        # --docker-host instead of DOCKER_HOST: the build must use the daemon the preflight probed.
        no_host = {k: v for k, v in env.items() if k != "DOCKER_HOST"}
        image2 = f"ed-qa/{uuid.uuid4().hex[:8]}:latest"
        flagged = subprocess.run([sys.executable, "-m", "earthly_doctor", "run", "--docker-host", host, "--", "earthly", "+img"],
                                 env={**no_host, "FAKE_EARTHLY_IMAGE": image2}, capture_output=True, text=True, timeout=120,
                                 cwd=tmp_path)
        assert flagged.returncode == 0, flagged.stdout + flagged.stderr
        assert dind.docker("image", "inspect", image2, check=False).returncode == 0


# 3. A live build in one bridge container, diagnose in another ------------------------------------------------------

@pytest.fixture
def held_build_in_a_bridge_container(docker_daemon, fake_bin):
    """The stand-in earthly holding its proxy open in a bridge container (a Jenkins docker agent mid-build)."""
    name = f"ed-qa-build-{uuid.uuid4().hex[:8]}"
    docker_daemon.docker(
        "run", "-d", "--name", name, *python_mounts(), "-v", f"{fake_bin}:{fake_bin}:ro",
        "-v", f"{docker_daemon.socket}:/var/run/docker.sock", "-e", f"PATH={fake_bin}:{container_path()}", "-w", "/tmp",
        IMAGE, sys.executable, str(fake_bin / "earthly"), "--hold", "60", "+img",
    )
    try:
        deadline = time.monotonic() + 30
        while b"SAVE IMAGE" not in docker_daemon.docker("logs", name, check=False).stdout and time.monotonic() < deadline:
            time.sleep(0.2)
        yield name
    finally:
        docker_daemon.docker("rm", "-f", name, check=False)


def test_live_build_in_another_bridge_container_is_not_claimed_absent(docker_daemon, fake_bin, held_build_in_a_bridge_container):
    result = run_python_container(docker_daemon, ["-m", "earthly_doctor", "diagnose", "--format", "json"],
                                  env={"PATH": f"{fake_bin}:{container_path()}"}, extra=["-v", f"{fake_bin}:{fake_bin}:ro"])
    report = report_of(subprocess.CompletedProcess([], result.returncode, result.stdout.decode(), result.stderr.decode()))
    for code in ("ED130", "ED121"):
        f = finding(report, code)
        assert f["status"] == "skip" and "another container" in f["summary"] and "is running here" not in f["summary"], f
    # The proof does not depend on seeing the build: the canary still settles it.
    assert report["verdict"]["cause"] == "proxy-unreachable-bridge-container" and report["verdict"]["confidence"] == "proven"


def test_diagnose_on_the_host_while_an_agent_container_builds_is_not_healthy(docker_daemon, held_build_in_a_bridge_container):
    """The host shares the daemon's loopback (canary arrives), but the agent's build is refused at its own port."""
    result, _ = doctor("diagnose", "--format", "json", env=clean_env(DOCKER_HOST=docker_daemon.host))
    report = report_of(result)
    assert finding(report, "ED120")["status"] == "pass"
    live = finding(report, "ED121")
    assert live["status"] in ("warn", "pass") and live["refused_elsewhere"]  # pass: another build here was reached too
    v = report["verdict"]
    assert v["cause"] == "proxy-unreachable-bridge-container" and v["confidence"] == "proven"
    assert "A running build cannot export" in v["summary"] and v["remedies"][:2] == ["disable-proxy", "host-network"]


# 4. Odd environments: each one a clear finding in bounded time, never a traceback -----------------------------------

class SilentTcp:
    """A loopback TCP port whose backlog completes the handshake but nothing ever answers: a blackholed daemon."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()


def test_refused_tcp_endpoints_are_one_clear_failure(qa_namespace):
    for host in ("tcp://127.0.0.1:1", f"tcp://{qa_namespace.ns_addr}:2375"):  # a namespace with nothing listening
        result, elapsed = doctor("diagnose", "--format", "json", env=clean_env(DOCKER_HOST=host))
        report = report_of(result)
        daemon = finding(report, "ED110")
        assert result.returncode == 1 and daemon["error_kind"] == "refused" and host in daemon["summary"]
        assert report["verdict"]["cause"] == "docker-unreachable" and elapsed < 10


def test_a_blackholed_tcp_daemon_ends_within_the_deadline():
    silent = SilentTcp()
    try:
        result, elapsed = doctor("diagnose", "--format", "json", "--timeout", "2", env=clean_env(DOCKER_HOST=silent.url))
        run, run_elapsed = doctor("run", "--preflight-timeout", "1", "--", "sh", "-c", "exit 7", env=clean_env(DOCKER_HOST=silent.url))
    finally:
        silent.close()
    assert run.returncode == 7 and run_elapsed <= 1 + 1.5, run_elapsed
    # The probe is clamped to the preflight's deadline, so the daemon's silence is the finding itself (issue 13).
    line = run.stderr.strip()
    assert line.startswith("earthly-doctor: preflight: the Docker daemon did not answer within 1s (timed out (tcp://")
    assert line.endswith("; running the build as is")
    report = report_of(result)
    assert elapsed <= 2 + 1.5, elapsed
    assert finding(report, "ED110")["status"] == "fail"
    assert (report["verdict"]["cause"], result.returncode) == ("docker-unreachable", 1)


def test_ssh_endpoint_without_a_working_ssh_is_one_clear_finding():
    result, elapsed = doctor("diagnose", "--format", "json", "--timeout", "5",
                             env=clean_env(DOCKER_HOST="ssh://nobody@127.0.0.1:1"))  # loopback only: nothing leaves the host
    report = report_of(result)
    daemon = finding(report, "ED110")
    assert daemon["status"] in ("fail", "error") and "ssh://nobody@127.0.0.1:1" in daemon["summary"]
    assert elapsed < 5 + 1.5
    if daemon["status"] == "error":  # no paramiko: we could not look, and must not claim the daemon is down
        assert "paramiko" in daemon["summary"] and report["verdict"]["cause"] != "docker-unreachable"


def test_a_missing_docker_context_is_named(tmp_path):
    result, _ = doctor("diagnose", "--format", "json",
                       env={**clean_env(HOME=str(tmp_path), DOCKER_CONTEXT="nosuch"), "DOCKER_HOST": ""})
    report = report_of(result)
    daemon = finding(report, "ED110")
    assert daemon["status"] == "fail" and daemon["error_kind"] == "no-context" and "'nosuch'" in daemon["summary"]


def test_a_tiny_timeout_and_no_home_against_a_real_daemon(docker_daemon):
    result, elapsed = doctor("diagnose", "--format", "json", "--timeout", "0.5", env=clean_env(DOCKER_HOST=docker_daemon.host))
    report_of(result)
    assert elapsed < 0.5 + 1.5, elapsed
    no_home = {k: v for k, v in clean_env(DOCKER_HOST=docker_daemon.host).items() if k != "HOME"}
    result, _ = doctor("diagnose", "--format", "json", env=no_home)
    report = report_of(result)
    assert report["verdict"]["cause"] == "healthy"
    assert not [f for f in report["findings"] if f["status"] == "error"]


UNPRIVILEGED = """#!/bin/sh
# A private mount namespace: this Python at a path anyone may traverse, /proc hiding other users' processes.
set -e
mount --bind "$QA_PREFIX" "$QA_ROOT/py"
# The daemon's socket may sit below a folder only root may enter (pytest's tmp): show it at a reachable path.
touch "$QA_ROOT/docker.sock"
mount --bind "$QA_SOCKET" "$QA_ROOT/docker.sock"
if [ -n "$QA_HIDEPID" ]; then mount -t proc -o hidepid=2 proc /proc; fi
# PYTHONHOME, LD_LIBRARY_PATH: the interpreter finds its own stdlib and libpython at the mounted path (its build-time
# prefix may sit below a 0700 /root, and the loader would otherwise pick the system libpython of another patch level).
exec setpriv --reuid 12345 --regid 12345 $QA_GROUPS env -u HOME PYTHONHOME="$QA_ROOT/py" LD_LIBRARY_PATH="$QA_ROOT/py/lib" NO_COLOR=1 COLUMNS=100 \
  "$QA_ROOT/py/$QA_PYTHON" "$QA_ROOT/ed.py" "$@"
"""
LAUNCH = """import site, sys, runpy
site.addsitedir(sys.argv.pop(1))
sys.argv[0] = "earthly-doctor"
runpy.run_module("earthly_doctor", run_name="__main__")
"""


@pytest.mark.parametrize("hidepid", [False, True])
def test_an_unprivileged_user_without_home_or_others_proc(docker_daemon, fake_bin, tmp_path, hidepid):
    """uid 12345 (no passwd entry, HOME unset), in the socket's group; a root-owned earthly build is running."""
    for tool in ("unshare", "setpriv", "mount"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not found")
    executable = Path(sys.executable).resolve()
    prefix = Path(sys.base_prefix).resolve()
    try:
        rel = executable.relative_to(prefix)
    except ValueError:
        pytest.skip("the interpreter is not below its prefix")
    site_dir = next((p for p in map(Path, __import__("site").getsitepackages()) if p.is_relative_to(prefix)), None)
    if sys.prefix != sys.base_prefix or site_dir is None:
        pytest.skip("needs the base interpreter's site-packages")
    root = Path(tempfile.mkdtemp(prefix="ed-qa-", dir="/tmp"))
    proc = None
    try:
        root.chmod(0o755)
        (root / "py").mkdir()
        (root / "ed.py").write_text(LAUNCH)
        (root / "run.sh").write_text(UNPRIVILEGED)
        (root / "run.sh").chmod(0o755)
        env = clean_env(DOCKER_HOST=docker_daemon.host, PATH=f"{fake_bin}:{os.environ['PATH']}")
        proc = subprocess.Popen([sys.executable, str(fake_bin / "earthly"), "--hold", "60", "+img"], env=env,
                                stdout=subprocess.PIPE, text=True, cwd=tmp_path)
        deadline = time.monotonic() + 20
        for line in proc.stdout:
            if "SAVE IMAGE" in line or time.monotonic() > deadline:
                break
        group = os.stat(docker_daemon.socket).st_gid
        run_env = {**env, "QA_PREFIX": str(prefix), "QA_ROOT": str(root), "QA_PYTHON": str(rel), "QA_SOCKET": docker_daemon.socket,
                   "QA_HIDEPID": "1" if hidepid else "", "QA_GROUPS": f"--groups {group}"}
        began = time.monotonic()
        result = subprocess.run(["unshare", "-m", "--propagation", "private", str(root / "run.sh"),
                                 str(root / "py" / site_dir.relative_to(prefix)), "diagnose", "--format", "json",
                                 "--docker-host", f"unix://{root / 'docker.sock'}"],
                                env=run_env, capture_output=True, text=True, timeout=60, cwd="/")
        elapsed = time.monotonic() - began
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)
            proc.stdout.close()
        unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)
    if not result.stdout.strip() and ("No module named" in result.stderr or "Traceback" not in result.stderr):
        # This machine's layout (a Python below /root, no mount rights in a CI container), not the tool.
        pytest.skip(f"cannot run this Python as an unprivileged user here: {result.stderr.strip()[-200:]}")
    report = report_of(result)
    assert elapsed < 10
    assert not [f for f in report["findings"] if f["status"] == "error"], report["findings"]
    assert report["verdict"]["cause"] == "healthy"
    ours = [e for e in finding(report, "ED130")["evidence"] if e["fact"] == f"process:{proc.pid}"]
    if hidepid:
        assert not ours  # hidden, so never claimed
    else:
        assert ours and "cannot be read" in finding(report, "ED130")["summary"]
        assert "no proxy listens" not in finding(report, "ED121")["summary"]


# 5. Every format at once from a bridge container ----------------------------------------------------------------

FORMATS = ("text", "json", "junit", "warnings-ng", "sarif", "markdown")


@pytest.mark.parametrize("stdout_format", ["junit", "warnings-ng", "sarif", "markdown"])
def test_every_format_written_and_parseable_from_a_bridge_container(docker_daemon, tmp_path, stdout_format):
    out = tmp_path / "out"
    (out / "reports").mkdir(parents=True)  # --output makes folders only inside the working directory (not /out)
    for folder in (out, out / "reports"):
        folder.chmod(0o777)
    args = ["-m", "earthly_doctor", "diagnose", "--format", stdout_format]
    for fmt in FORMATS:
        args += ["--output", f"{fmt}:/out/reports/report.{fmt}"]
    result = run_python_container(docker_daemon, args, extra=["-v", f"{out}:/out"])
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in stderr, stderr
    files = {fmt: out / "reports" / f"report.{fmt}" for fmt in FORMATS}
    for fmt, path in files.items():
        assert path.exists(), fmt
        assert path.stat().st_mode & 0o044, f"{fmt} report is not readable by others ({oct(path.stat().st_mode)})"
    report = json.loads(files["json"].read_text())
    assert_valid_report(report)
    assert report["verdict"]["cause"] == "proxy-unreachable-bridge-container"
    suite = ET.parse(files["junit"]).getroot()
    assert suite.tag == "testsuites" and int(suite.get("failures")) >= 1
    issues = json.loads(files["warnings-ng"].read_text())["issues"]
    assert any("ED120" in i["message"] for i in issues)
    sarif = json.loads(files["sarif"].read_text())
    assert sarif["version"] == "2.1.0" and any(r["ruleId"] == "ED120" for r in sarif["runs"][0]["results"])
    markdown = files["markdown"].read_text()
    assert "proxy-unreachable-bridge-container" in markdown and "pinned-port" not in markdown
    assert files["text"].read_text().startswith("Verdict: proxy-unreachable-bridge-container")
    # stdout is the chosen format, equal in kind to its file (ports and timings differ between renders).
    if stdout_format == "junit":
        assert ET.fromstring(stdout).tag == "testsuites"
    elif stdout_format == "markdown":
        assert stdout.startswith("**earthly-doctor diagnose:")
    else:
        json.loads(stdout)


def test_an_agent_whose_socket_mount_became_a_directory(docker_daemon, tmp_path):
    """`-v /var/run/docker.sock:/var/run/docker.sock` on a host without that socket: Docker mounts a new directory."""
    empty = tmp_path / "made-by-docker"
    empty.mkdir()
    result = run_python_container(docker_daemon, ["-m", "earthly_doctor", "diagnose", "--format", "json"], mount_socket=False,
                                  extra=["-v", f"{empty}:/var/run/docker.sock"])
    report = report_of(subprocess.CompletedProcess([], result.returncode, result.stdout.decode(), result.stderr.decode()))
    daemon = finding(report, "ED110")
    assert result.returncode == 1 and "/var/run/docker.sock is a directory, not a socket" in daemon["summary"]
    assert report["verdict"]["cause"] == "docker-unreachable"
