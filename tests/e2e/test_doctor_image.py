"""The doctor image beside agents that have no Python, against the real dockerd.

The image is built exactly as a user would: `docker/make-base.sh` debootstraps a minimal Debian with python3 (no
registry is reachable here; the rootfs tarball is cached between runs on the same machine), then
`docker/build-image.sh` builds from that base with no network inside the build. The agents are busybox-only
containers (no Python, like earthly/earthly): one on the default bridge network, one on the host network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.harness.dockerd import IMAGE, container_path, install_fake_earthly, python_mounts

pytestmark = pytest.mark.daemon

REPO = Path(__file__).resolve().parents[2]
DOCTOR_IMAGE = f"earthly-doctor:e2e-{uuid.uuid4().hex[:6]}"
BASE_IMAGE = "earthly-doctor-base:bookworm"
BUILD_TIMEOUT = 900  # a first debootstrap fetches ~60 packages; a cached one takes seconds


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def doctor_image(docker_daemon):
    """The image from docker/build-image.sh on a debootstrapped base (fails, never skips, with CI=true)."""
    env = {**os.environ, "DOCKER_HOST": docker_daemon.host, "PYTHON": sys.executable}
    missing = [tool for tool in ("debootstrap",) if subprocess.run(["which", tool], capture_output=True).returncode]
    if missing and not _ci():
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install debootstrap)")
    base = subprocess.run([str(REPO / "docker" / "make-base.sh"), BASE_IMAGE], env=env, capture_output=True,
                          text=True, timeout=BUILD_TIMEOUT)
    assert base.returncode == 0, base.stdout + base.stderr
    built = subprocess.run([str(REPO / "docker" / "build-image.sh")], capture_output=True, text=True,
                           timeout=BUILD_TIMEOUT, env={**env, "BASE": BASE_IMAGE, "TAG": DOCTOR_IMAGE})
    assert built.returncode == 0, built.stdout + built.stderr
    yield DOCTOR_IMAGE
    docker_daemon.docker("rmi", "-f", DOCTOR_IMAGE, check=False)


@pytest.fixture
def agent(docker_daemon, request):
    """A busybox-only agent container; `request.param` is its --network (None: the default bridge)."""
    made: list[str] = []

    def start(network: str | None = None, env: dict[str, str] | None = None, extra: list[str] | None = None,
              argv: list[str] | None = None) -> str:
        name = f"ed-agent-{uuid.uuid4().hex[:8]}"
        args = ["run", "-d", "--name", name, *(["--network", network] if network else [])]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        docker_daemon.docker(*args, *(extra or []), IMAGE, *(argv or ["sleep", "300"]))
        made.append(name)
        return name

    yield start
    for name in made:
        docker_daemon.docker("rm", "-f", name, check=False)


def beside(docker_daemon, image: str, agent_name: str, *args: str) -> subprocess.CompletedProcess:
    """What the README tells a user to run: the image in the agent's network and PID namespaces."""
    return docker_daemon.docker(
        "run", "--rm", "--network", f"container:{agent_name}", "--pid", f"container:{agent_name}",
        "-v", f"{docker_daemon.socket}:/var/run/docker.sock", image, "diagnose", "--format", "json", *args,
        check=False, timeout=120,
    )


def doctor(*args: str, host: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_HOST": host, "NO_COLOR": "1", "COLUMNS": "100"}
    env.pop("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY", None)
    return subprocess.run([sys.executable, "-m", "earthly_doctor", *args], env=env, capture_output=True, text=True,
                          timeout=180, cwd=cwd)


def finding(report: dict, code: str) -> dict:
    return next(f for f in report["findings"] if f["code"] == code)


def test_image_is_small_and_has_no_build_tools(docker_daemon, doctor_image):
    size = int(docker_daemon.docker("image", "inspect", "--format", "{{.Size}}", doctor_image).stdout)
    base = int(docker_daemon.docker("image", "inspect", "--format", "{{.Size}}", BASE_IMAGE).stdout)
    assert size - base < 60 * 1024 * 1024, f"the doctor adds {(size - base) >> 20} MiB to its base"
    probe = docker_daemon.docker("run", "--rm", "--entrypoint", "/bin/sh", doctor_image, "-c",
                                 "ls /opt/earthly-doctor/bin; command -v gcc pip || true", check=False)
    listing = probe.stdout.decode()
    assert "earthly-doctor" in listing and "pip" not in listing.split() and "gcc" not in listing
    version = docker_daemon.docker("run", "--rm", doctor_image, "--version").stdout.decode()
    from earthly_doctor import __version__

    assert version.strip() == f"earthly-doctor {__version__}"


def test_the_image_triages_a_log_without_numpy(docker_daemon, doctor_image, tmp_path):
    """The image leaves numpy out (see the Dockerfile): triage still works there, on the plain counting path."""
    numpy = docker_daemon.docker("run", "--rm", "--entrypoint", "python3", doctor_image, "-c",
                                 "import importlib.util as u; print(u.find_spec('numpy') is None)", check=False)
    assert numpy.stdout.decode().strip() == "True"
    log = (REPO / "examples" / "logs" / "issue-3736-jenkins.log").read_bytes()
    result = docker_daemon.docker("run", "--rm", "-i", doctor_image, "triage", "-", "--format", "json",
                                  input=log, check=False)
    report = json.loads(result.stdout)
    assert report["verdict"]["cause"] == "proxy-unreachable", result.stderr.decode()


def test_bridge_agent_without_python_is_diagnosed_from_beside_it(docker_daemon, doctor_image, agent):
    name = agent()
    result = beside(docker_daemon, doctor_image, name)
    assert result.returncode == 1, result.stderr.decode()
    report = json.loads(result.stdout)
    verdict = report["verdict"]
    assert verdict["cause"] == "proxy-unreachable-bridge-container" and verdict["confidence"] == "proven"
    assert name in verdict["summary"], verdict["summary"]  # the agent is named, not the doctor's own container
    assert report["subject"]["agent"].startswith(f"agent container {name}")
    assert finding(report, "ED120")["status"] == "fail"
    assert verdict["remedies"][0] == "disable-proxy" and "host-network" in verdict["remedies"]


def test_host_network_agent_is_healthy_from_beside_it(docker_daemon, doctor_image, agent):
    name = agent(network="host")
    result = beside(docker_daemon, doctor_image, name)
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["verdict"]["cause"] == "healthy" and finding(report, "ED120")["status"] == "pass"


def test_agent_settings_come_from_its_config_env(docker_daemon, doctor_image, agent):
    """The doctor's own environment has no Earthly settings; the agent's Config.Env does, and it decides."""
    name = agent(env={"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true"})
    report = json.loads(beside(docker_daemon, doctor_image, name).stdout)
    settings = finding(report, "ED140")
    disabled = next(e for e in settings["evidence"] if e["fact"] == "proxy_disabled")
    assert disabled["value"] is True and "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY" in disabled["source"]
    assert name in settings["summary"] and "cannot happen" in settings["summary"]


def test_live_build_in_the_agent_is_seen_through_its_pid_namespace(docker_daemon, doctor_image, agent, tmp_path):
    """The stand-in earthly holds its proxy open in the bridge agent; with --pid container:<agent> the doctor sees
    the process and its port (ED130 pass) and proves the daemon cannot reach it (ED121 fail)."""
    fake_bin = tmp_path / "bin"
    install_fake_earthly(fake_bin)
    name = agent(extra=[*python_mounts(), "-v", f"{fake_bin}:{fake_bin}:ro",
                        "-v", f"{docker_daemon.socket}:/var/run/docker.sock",
                        "-e", f"PATH={fake_bin}:{container_path()}", "-w", "/tmp"],
                 argv=[sys.executable, str(fake_bin / "earthly"), "--hold", "90", "+img"])
    deadline = time.monotonic() + 30
    while b"SAVE IMAGE" not in docker_daemon.docker("logs", name, check=False).stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    report = json.loads(beside(docker_daemon, doctor_image, name).stdout)
    assert finding(report, "ED130")["status"] == "pass", finding(report, "ED130")
    assert finding(report, "ED121")["status"] == "fail", finding(report, "ED121")
    assert report["verdict"]["cause"] == "proxy-unreachable-bridge-container"


def test_diagnose_container_runs_the_image_and_relays_report_and_exit_code(docker_daemon, doctor_image, agent, tmp_path):
    bridge, host = agent(), agent(network="host")
    first = doctor("diagnose", "--container", bridge, "--image", doctor_image, "--format", "json",
                   "--output", f"junit:{tmp_path / 'bridge.xml'}", host=docker_daemon.host)
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    assert report["verdict"]["cause"] == "proxy-unreachable-bridge-container" and bridge in report["verdict"]["summary"]
    assert report["beside"]["container"] == bridge and (tmp_path / "bridge.xml").read_text().startswith("<?xml")
    (tmp_path / "bridge.json").write_text(first.stdout)
    second = doctor("diagnose", "--container", host, "--image", doctor_image, "--output",
                    f"json:{tmp_path / 'host.json'}", host=docker_daemon.host)
    assert second.returncode == 0 and "Verdict: healthy" in second.stdout, second.stdout + second.stderr
    # Nothing is left behind: every doctor container is removed.
    for agent_name in (bridge, host):
        agent_id = docker_daemon.docker("inspect", "--format", "{{.Id}}", agent_name).stdout.decode().strip()
        left = docker_daemon.docker("ps", "-aq", "--filter", f"label=earthly-doctor.beside={agent_id}").stdout.split()
        assert not left, left

    merged = doctor("merge", str(tmp_path / "bridge.json"), str(tmp_path / "host.json"), "--format", "json",
                    host=docker_daemon.host)
    assert merged.returncode == 1, merged.stderr  # one agent needs action
    fleet = json.loads(merged.stdout)
    assert fleet["agents"] == 2 and fleet["needing_action"] == 1
    assert {r["agent"]: r["cause"] for r in fleet["rows"]} == {
        bridge: "proxy-unreachable-bridge-container", host: "healthy"}
    first_row = fleet["rows"][0]
    assert first_row["agent"] == bridge and first_row["remedy"] == "disable-proxy" and first_row["when"]
    table = doctor("merge", str(tmp_path / "bridge.json"), str(tmp_path / "host.json"), host=docker_daemon.host)
    assert bridge in table.stdout and host in table.stdout and "1 needing action" in table.stdout


def test_diagnose_container_refuses_clearly(docker_daemon, doctor_image, agent):
    gone = doctor("diagnose", "--container", f"no-such-{uuid.uuid4().hex[:6]}", "--image", doctor_image,
                  host=docker_daemon.host)
    assert gone.returncode == 2 and "no such container" in gone.stderr and "Traceback" not in gone.stderr
    no_image = doctor("diagnose", "--container", agent(), "--image", "earthly-doctor:absent", host=docker_daemon.host)
    assert no_image.returncode == 2 and "is not on this daemon" in no_image.stderr
    bad_inner = doctor("diagnose", "--container", agent(), "--image", doctor_image, "--only", "ED999",
                       host=docker_daemon.host)
    assert bad_inner.returncode == 2 and "unknown check code" in bad_inner.stderr
