"""The stand-in `earthly` reproduces the real failure and its fixes against the real daemon.

Earthly cannot be installed here; these tests pin the stand-in's behaviour to the facts in research/earthly.md so
the tests that rely on it (run, fix, catalog) rest on a faithful reproduction.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.harness.dockerd import install_fake_earthly, run_python_container

pytestmark = pytest.mark.daemon

ERROR_RE = re.compile(
    r"Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    r"\t\* command failed: docker pull 127\.0\.0\.1:(\d+)/sess-[0-9a-z]{25}/pullping:img-0: exit status 1: "
    r'Error response from daemon: Get "http://127\.0\.0\.1:\1/v2/": dial tcp 127\.0\.0\.1:\1: connect: connection refused: exit status 1'
)


@pytest.fixture
def fake_bin(tmp_path):
    install_fake_earthly(tmp_path / "bin")
    return tmp_path / "bin"


def test_on_the_host_the_proxy_export_succeeds(docker_daemon, fake_bin, tmp_path):
    env = {**os.environ, "DOCKER_HOST": docker_daemon.host, "PATH": f"{fake_bin}:{os.environ['PATH']}"}
    env.pop("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY", None)
    result = subprocess.run(["earthly", "-V", "+img"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"registry-proxy \| Starting registry proxy on 127\.0\.0\.1:\d+", result.stdout)
    assert "Image +img output as" in result.stdout


def test_in_a_bridge_container_the_export_is_refused_with_earthlys_exact_error(docker_daemon, fake_bin):
    result = run_python_container(docker_daemon, [str(fake_bin / "earthly"), "+img"], extra=["-v", f"{fake_bin}:{fake_bin}:ro"])
    out = result.stdout.decode()
    assert result.returncode == 1, out
    assert ERROR_RE.search(out), out


@pytest.mark.parametrize("how", ["env", "flag", "dotenv"])
def test_disabling_the_proxy_falls_back_to_docker_load(docker_daemon, fake_bin, tmp_path, how):
    env, args, extra = {}, [str(fake_bin / "earthly"), "+img"], ["-v", f"{fake_bin}:{fake_bin}:ro"]
    if how == "env":
        env["EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"] = "true"
    elif how == "flag":
        args.insert(1, "--disable-remote-registry-proxy")
    else:
        (tmp_path / ".env").write_text("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n")
        extra += ["-v", f"{tmp_path}:/ws:ro", "-w", "/ws"]
    result = run_python_container(docker_daemon, args, env=env, extra=extra)
    assert result.returncode == 0, result.stdout.decode()
    assert "Image +img output as" in result.stdout.decode()


def test_set_but_empty_is_false_and_invalid_is_an_error(docker_daemon, fake_bin):
    extra = ["-v", f"{fake_bin}:{fake_bin}:ro"]
    empty = run_python_container(docker_daemon, [str(fake_bin / "earthly"), "+img"], env={"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": ""}, extra=extra)
    assert empty.returncode == 1 and ERROR_RE.search(empty.stdout.decode())
    bad = run_python_container(docker_daemon, [str(fake_bin / "earthly"), "+img"], env={"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "yes"}, extra=extra)
    assert bad.returncode == 1 and "could not parse" in bad.stderr.decode()
