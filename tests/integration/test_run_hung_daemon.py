"""A daemon that accepts and never answers must not stop the build: the preflight gives up within its bound,
says so in one line, and the build runs as is."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.harness.silent_socket import SilentSocket


@pytest.fixture
def silent(tmp_path):
    daemon = SilentSocket(tmp_path / "docker.sock")
    yield daemon
    daemon.close()


@pytest.fixture
def build(tmp_path):
    path = tmp_path / "bin" / "earthly"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys
        print("built with proxy setting", os.environ.get("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY", "unset"))
        sys.exit(0)
    """))
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("bound", [1.0, 2.0])
def test_a_hung_daemon_does_not_stop_the_build(tmp_path, silent, build, bound):
    env = {**os.environ, "DOCKER_HOST": f"unix://{silent.path}", "NO_COLOR": "1", "HOME": str(tmp_path)}
    env.pop("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY", None)
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "earthly_doctor", "run", "--preflight-timeout", str(bound), "--", str(build), "+img"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    assert result.stdout == "built with proxy setting unset\n"
    lines = [line for line in result.stderr.splitlines() if line.startswith("earthly-doctor:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("earthly-doctor: preflight:") and f"within {bound:g}s" in lines[0]
    assert lines[0].endswith("running the build as is")
    # The bound plus interpreter start-up and the build itself, measured from outside.
    assert elapsed < bound + 2.5, elapsed


def test_sigterm_during_a_hung_preflight_ends_run_at_once(tmp_path, silent, build):
    env = {**os.environ, "DOCKER_HOST": f"unix://{silent.path}", "NO_COLOR": "1", "HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "earthly_doctor", "run", "--preflight-timeout", "30", "--", str(build), "+img"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 20
        while not silent.held and time.monotonic() < deadline:  # the preflight is talking to the stuck daemon
            time.sleep(0.05)
        assert silent.held
        sent = time.monotonic()
        proc.terminate()
        code = proc.wait(timeout=10)
        elapsed = time.monotonic() - sent
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert code == 143 and elapsed < 3
    assert out == b""  # the build never started
