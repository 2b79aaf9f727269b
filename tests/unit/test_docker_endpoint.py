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


def _context(tmp_path, name: str, host: str, files: tuple[str, ...] = (), skip: bool = False):
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = tmp_path / ".docker" / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    meta.joinpath("meta.json").write_text(json.dumps(
        {"Name": name, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip}}}))
    tls = tmp_path / ".docker" / "contexts" / "tls" / digest / "docker"
    tls.mkdir(parents=True)
    for f in files:
        (tls / f).write_text("x")
    return tls


def test_tls_from_the_environment_as_the_docker_cli_reads_it(tmp_path):
    for f in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / f).write_text("x")
    env = {"HOME": str(tmp_path), "DOCKER_HOST": "tcp://docker", "DOCKER_TLS_VERIFY": "0",
           "DOCKER_CERT_PATH": str(tmp_path)}
    endpoint = find_endpoint(env)
    # Any non-empty DOCKER_TLS_VERIFY turns verification on ("0" too), and the TLS port becomes the default.
    assert endpoint.url == "tcp://docker:2376" and endpoint.tls is not None and endpoint.tls.verify
    assert endpoint.tls.ca == str(tmp_path / "ca.pem") and endpoint.tls.cert == str(tmp_path / "cert.pem")
    assert endpoint.problem is None
    plain = find_endpoint({"HOME": str(tmp_path), "DOCKER_HOST": "tcp://docker"})
    assert plain.url == "tcp://docker:2375" and plain.tls is None
    no_verify = find_endpoint({**env, "DOCKER_TLS_VERIFY": "", "DOCKER_TLS": "1"})
    assert no_verify.tls is not None and not no_verify.tls.verify


def test_cert_path_defaults_to_the_docker_config_folder_and_a_missing_ca_stops_the_cli(tmp_path):
    env = {"HOME": str(tmp_path), "DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_VERIFY": "1"}
    endpoint = find_endpoint(env)
    assert endpoint.tls is not None and endpoint.tls.folder == str(tmp_path / ".docker")
    assert endpoint.problem and str(tmp_path / ".docker" / "ca.pem") in endpoint.problem
    # The docker CLI reads ca.pem even for a unix socket when DOCKER_TLS_VERIFY is set (measured, docker 28).
    assert find_endpoint({**env, "DOCKER_HOST": "unix:///x.sock"}).problem
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "ca.pem").write_text("x")
    ok = find_endpoint(env)
    assert ok.problem is None and ok.tls is not None and ok.tls.cert is None  # cert/key dropped when missing
    assert find_endpoint({**env, "DOCKER_HOST": "unix:///x.sock"}).tls is None  # no TLS over a unix socket


def test_a_context_with_tls_files_speaks_tls_and_ignores_the_tls_variables(tmp_path):
    folder = _context(tmp_path, "dind", "tcp://docker:2376", ("ca.pem", "cert.pem", "key.pem"))
    env = {"HOME": str(tmp_path), "DOCKER_CONTEXT": "dind", "DOCKER_CERT_PATH": "/elsewhere", "DOCKER_TLS_VERIFY": "1"}
    endpoint = find_endpoint(env)
    assert endpoint.tls is not None and endpoint.tls.verify and endpoint.tls.ca == str(folder / "ca.pem")
    assert endpoint.problem is None and "dind" in endpoint.tls.source


def test_a_context_without_tls_files_is_plain_unless_it_skips_verification(tmp_path):
    _context(tmp_path, "plain", "tcp://docker:2375")
    assert find_endpoint({"HOME": str(tmp_path), "DOCKER_CONTEXT": "plain"}).tls is None
    _context(tmp_path, "skip", "tcp://docker", skip=True)
    skipping = find_endpoint({"HOME": str(tmp_path), "DOCKER_CONTEXT": "skip"})
    assert skipping.url == "tcp://docker:2376" and skipping.tls is not None and not skipping.tls.verify
