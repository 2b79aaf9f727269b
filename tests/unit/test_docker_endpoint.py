"""Finding the daemon the way the docker CLI does."""

from __future__ import annotations

import hashlib
import json

from earthly_doctor.probes.docker_endpoint import DEFAULT_SOCKET, Endpoint, find_endpoint


def test_flag_beats_docker_host_beats_context(tmp_path):
    env = {"DOCKER_HOST": "tcp://10.0.0.5:2375", "HOME": str(tmp_path)}
    assert find_endpoint(env, "unix:///x.sock") == Endpoint("unix:///x.sock", "--docker-host")
    assert find_endpoint(env).url == "tcp://10.0.0.5:2375"


def test_cli_context_from_config_json(tmp_path):
    docker_dir = tmp_path / ".docker"
    meta = docker_dir / "contexts" / "meta" / hashlib.sha256(b"dind").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "dind", "Endpoints": {"docker": {"Host": "tcp://docker:2375"}}}))
    (docker_dir / "config.json").write_text(json.dumps({"currentContext": "dind"}))
    endpoint = find_endpoint({"HOME": str(tmp_path)})
    assert endpoint.url == "tcp://docker:2375"
    assert "dind" in endpoint.source
    assert find_endpoint({"HOME": str(tmp_path), "DOCKER_CONTEXT": "default"}).url == DEFAULT_SOCKET


def test_default_socket_when_nothing_is_configured(tmp_path):
    assert find_endpoint({"HOME": str(tmp_path)}) == Endpoint(DEFAULT_SOCKET, "default socket")
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text("{not json")
    assert find_endpoint({"HOME": str(tmp_path)}).url == DEFAULT_SOCKET


def test_remote_means_another_loopback():
    assert Endpoint("tcp://docker:2375", "x").is_remote
    assert Endpoint("ssh://me@host", "x").is_remote
    assert not Endpoint("tcp://127.0.0.1:2375", "x").is_remote
    assert not Endpoint("unix:///var/run/docker.sock", "x").is_remote
    assert Endpoint("unix:///run/user/1000/docker.sock", "x").socket_path == "/run/user/1000/docker.sock"
