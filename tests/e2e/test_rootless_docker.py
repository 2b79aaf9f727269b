"""Issue 17: a real rootless dockerd (Debian's dockerd-rootless.sh under RootlessKit with slirp4netns), started
by the session fixture as the account `edrootless` (root set-up steps in tests/harness/rootless.py). RootlessKit
gives dockerd a network namespace of its own, so its 127.0.0.1 is not ours: the stand-in `earthly`
(tests/harness/fake_earthly.py, Earthly's docker frontend, the real docker CLI) fails exactly as Earthly would.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.harness.dockerd import install_fake_earthly
from tests.helpers.doctor import diagnose, doctor, finding

pytestmark = pytest.mark.daemon

EXPORTED = "Image +img output as"
REFUSED = "connect: connection refused"


def clean_env(home: Path, host: str, fake_bin: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "EARTHLY_"))}
    return {**env, "HOME": str(home), "DOCKER_HOST": host, "NO_COLOR": "1", "COLUMNS": "100",
            "PATH": f"{fake_bin}:{env['PATH']}", "FAKE_EARTHLY_IMAGE": f"ed-rootless/{uuid.uuid4().hex[:8]}:latest"}


def export(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["earthly", "+img"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def setup(rootless_dockerd, tmp_path):
    install_fake_earthly(tmp_path / "bin")
    ws = tmp_path / "ws"
    ws.mkdir()
    return clean_env(tmp_path, rootless_dockerd.host, tmp_path / "bin"), ws


def test_verdict_and_the_first_remedy_on_the_stand_in_build(setup, tmp_path):
    env, ws = setup
    report = diagnose(env, ws)
    daemon = finding(report, "ED110")
    assert daemon["summary"].startswith("rootless Docker "), daemon["summary"]
    facts = {e["fact"]: e["value"] for e in daemon["evidence"]}
    assert facts["daemon_kind"] == "rootless" and facts["rootless"] is True and facts["daemon_engine"] == "docker"
    verdict = report["verdict"]
    assert verdict["cause"] == "proxy-unreachable-rootless-daemon" and verdict["confidence"] == "proven", verdict
    assert verdict["remedies"][0] == "disable-proxy" and "host-network" not in verdict["remedies"]

    before = export(env, ws)
    assert before.returncode == 1 and REFUSED in before.stdout, before.stdout + before.stderr
    (tmp_path / "report.json").write_text(json.dumps(report))
    fixed = doctor("fix", "--from", str(tmp_path / "report.json"), "--apply", env=env, cwd=ws)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    after = export(env, ws)
    assert after.returncode == 0 and EXPORTED in after.stdout, after.stdout + after.stderr


def test_run_falls_back_and_preflight_says_so(setup):
    env, ws = setup
    decision = json.loads(doctor("preflight", "--format", "json", env=env, cwd=ws).stdout)
    assert decision["outcome"] == "unreachable" and decision["env"] == {"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true"}
    result = doctor("run", "--", "earthly", "+img", env=env, cwd=ws)
    assert result.returncode == 0 and EXPORTED in result.stdout, result.stdout + result.stderr
    assert "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY" in result.stderr
    # --no-preflight: the build fails at the proxy, and run's one retry with the proxy off saves it.
    retried = doctor("run", "--no-preflight", "--", "earthly", "+img", env=env, cwd=ws)
    assert retried.returncode == 0 and REFUSED in retried.stdout + retried.stderr and EXPORTED in retried.stdout, (
        retried.stdout + retried.stderr)
