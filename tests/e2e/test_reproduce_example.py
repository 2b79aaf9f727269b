"""examples/reproduce/reproduce.py, the demo we hand to users, keeps working against the real daemon."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness.dockerd import REPO_ROOT

pytestmark = pytest.mark.daemon


def test_the_reproduction_shows_the_failure_the_proof_and_both_fixes(docker_daemon):
    result = subprocess.run(
        [sys.executable, "-m", "examples.reproduce.reproduce", "--docker-host", docker_daemon.host],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "connect: connection refused" in out
    assert "Verdict: proxy-unreachable-bridge-container (proven)" in out
    assert "running with EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true for this run" in out
    assert out.count("as expected)") == 4 and "NOT as expected" not in out
