"""`fix` against the real daemon: diagnose a bridge container, apply host-network to a generated `docker run`
script and disable-proxy to a workspace .env, and watch the stand-in `earthly` export succeed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.dockerd import IMAGE, container_path, install_fake_earthly, python_mounts, run_python_container

pytestmark = pytest.mark.daemon

REFUSED = re.compile(r"dial tcp 127\.0\.0\.1:(\d+): connect: connection refused")


def doctor(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "earthly_doctor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture
def setup(docker_daemon, tmp_path):
    bin_dir = tmp_path / "bin"
    install_fake_earthly(bin_dir)
    ws = tmp_path / "ws"
    ws.mkdir()
    # The real topology's diagnosis: earthly-doctor inside a bridge container with the host daemon's socket.
    diag = run_python_container(docker_daemon, ["-m", "earthly_doctor", "diagnose", "--format", "json", "--exit-zero"])
    report = json.loads(diag.stdout.decode())
    (tmp_path / "report.json").write_text(json.dumps(report))
    return tmp_path, bin_dir, ws, report


def run_script(docker_daemon, script: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_HOST": docker_daemon.host}
    return subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=180, env=env)


def test_the_diagnosis_ranks_the_bridge_topology(setup):
    tmp_path, _, _, report = setup
    assert report["verdict"]["cause"] == "proxy-unreachable-bridge-container"
    proc = doctor(tmp_path, "fix", "--from", "report.json", "--format", "json")
    # The daemon is the host's and this is a bridge container: host-network is offered; no 8371 proof, no pinned-port.
    assert json.loads(proc.stdout)["ranked"] == [r for r in report["verdict"]["remedies"] if r != "pinned-port"]
    assert json.loads(proc.stdout)["ranked"][:2] == ["disable-proxy", "host-network"]


def test_host_network_on_a_docker_run_script_fixes_the_export(docker_daemon, setup):
    tmp_path, bin_dir, ws, _ = setup
    script = ws / "run-earthly.sh"
    run = ["docker", "run", "--rm", *python_mounts(), "-e", f"PATH={container_path()}", "-e", "NO_COLOR=1",
           "-v", "/var/run/docker.sock:/var/run/docker.sock".replace("/var/run/docker.sock:", f"{docker_daemon.socket}:", 1),
           "-v", f"{bin_dir}:{bin_dir}:ro", "-w", "/tmp", IMAGE, sys.executable, str(bin_dir / "earthly"), "+img"]
    script.write_text("#!/bin/sh\n# generated: earthly in a container on the default bridge network\nset -e\n"
                      + " ".join(shlex.quote(a) for a in run) + "\n")

    before = run_script(docker_daemon, script)
    assert before.returncode == 1 and REFUSED.search(before.stdout + before.stderr), before.stdout + before.stderr

    fixed = doctor(tmp_path, "fix", "--from", "report.json", "--apply", "--remedy", "host-network", "--file", str(script))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "added --network host to docker run" in fixed.stdout
    assert "docker run --network host --rm" in script.read_text()

    after = run_script(docker_daemon, script)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "Image +img output as" in after.stdout

    again = doctor(tmp_path, "fix", "--from", "report.json", "--apply", "--remedy", "host-network", "--file", str(script))
    assert "already applied; nothing changed" in again.stdout

    # Undo brings the failure back: the edit, and nothing else, made the difference.
    assert doctor(tmp_path, "fix", "--undo", "--file", str(script)).returncode == 0
    assert REFUSED.search(run_script(docker_daemon, script).stdout)


def test_disable_proxy_in_the_workspace_env_file_fixes_the_export(docker_daemon, setup):
    tmp_path, bin_dir, ws, _ = setup
    env_file = ws / ".env"
    env_file.write_text("# workspace settings\nEARTHLY_BUILD_ARGS=V=1\n")
    extra = ["-v", f"{bin_dir}:{bin_dir}:ro", "-v", f"{ws}:/ws:ro", "-w", "/ws"]

    def build():
        return run_python_container(docker_daemon, [str(bin_dir / "earthly"), "+img"], extra=extra)

    before = build()
    assert before.returncode == 1 and REFUSED.search(before.stdout.decode())

    fixed = doctor(tmp_path, "fix", "--from", "report.json", "--apply", "--remedy", "disable-proxy", "--file", str(env_file))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert env_file.read_text() == "# workspace settings\nEARTHLY_BUILD_ARGS=V=1\nEARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n"

    after = build()
    out = after.stdout.decode()
    assert after.returncode == 0, out + after.stderr.decode()
    assert "Image +img output as" in out


def test_live_fix_inside_the_bridge_container_applies_to_its_workspace(docker_daemon, tmp_path):
    """No saved report: `fix` diagnoses where it runs (a bridge container on the host daemon), then applies."""
    ws = tmp_path / "live"
    ws.mkdir()
    (ws / "Jenkinsfile").write_bytes((Path(__file__).resolve().parents[2] / "examples/jenkinsfiles/scripted-inside.Jenkinsfile").read_bytes())
    ws.chmod(0o777)
    (ws / "Jenkinsfile").chmod(0o666)
    proc = run_python_container(docker_daemon, ["-m", "earthly_doctor", "fix", "--apply", "--remedy", "host-network", "--format", "json"],
                                extra=["-v", f"{ws}:/ws", "-w", "/ws"])
    data = json.loads(proc.stdout.decode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert data["verdict"]["cause"] == "proxy-unreachable-bridge-container"
    assert data["ranked"][:2] == ["disable-proxy", "host-network"]
    assert data["applied"]["changed"] is True
    assert ".inside('--network host -v /var/run/docker.sock" in (ws / "Jenkinsfile").read_text()
    assert (ws / "Jenkinsfile.earthly-doctor.bak").exists()
