"""Finding the daemon the way the docker CLI does."""

from __future__ import annotations

import hashlib
import json

from earthly_doctor.probes.docker_endpoint import DEFAULT_SOCKET, Endpoint, find_endpoint
import importlib.util
from earthly_doctor.checks.ed110_docker_daemon import DockerDaemon
from earthly_doctor.model import Status
from earthly_doctor.probes.docker_client import connect
from earthly_doctor.verdict import decide
from tests.helpers.facts import make_ctx


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


def test_a_missing_docker_context_is_a_problem_not_the_default_socket(tmp_path):
    """The docker CLI stops with `context "x": context not found`; diagnosing the default socket instead would be
    diagnosing a daemon Earthly never reaches."""
    endpoint = find_endpoint({"HOME": str(tmp_path), "DOCKER_CONTEXT": "nosuch"})
    assert endpoint.problem and "'nosuch'" in endpoint.problem and "not found" in endpoint.problem
    handle = connect(endpoint, {}, timeout=1.0)
    assert not handle.ok and handle.error_kind == "no-context"
    f = DockerDaemon().run(make_ctx(docker=handle))
    assert f.status == Status.FAIL and "docker context use default" in f.summary
    # DOCKER_HOST wins over DOCKER_CONTEXT in the docker CLI, so there is no problem then.
    assert find_endpoint({"HOME": str(tmp_path), "DOCKER_CONTEXT": "nosuch", "DOCKER_HOST": "tcp://127.0.0.1:1"}).problem is None


def test_a_missing_current_context_from_config_json_is_a_problem_too(tmp_path):
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text('{"currentContext": "gone"}')
    assert "currentContext" in (find_endpoint({"HOME": str(tmp_path)}).problem or "")


def test_a_tcp_docker_host_without_a_port_gets_the_docker_cli_default():
    assert find_endpoint({"DOCKER_HOST": "tcp://localhost"}).url == "tcp://localhost:2375"
    assert find_endpoint({"DOCKER_HOST": "tcp://docker", "DOCKER_TLS_VERIFY": "1"}).url == "tcp://docker:2376"
    assert find_endpoint({}, "tcp://[::1]").url == "tcp://[::1]:2375"
    assert find_endpoint({"DOCKER_HOST": "tcp://[::1]:1"}).url == "tcp://[::1]:1"
    assert find_endpoint({"DOCKER_HOST": "unix:///x.sock"}).url == "unix:///x.sock"


def test_a_socket_path_that_is_a_directory_says_the_mount_went_wrong(tmp_path):
    """The classic agent mistake: the socket's bind-mount source did not exist, so Docker created a directory."""
    (tmp_path / "docker.sock").mkdir()
    (tmp_path / "plain").write_text("")
    handle = connect(Endpoint(f"unix://{tmp_path}/docker.sock", "DOCKER_HOST"), {}, timeout=1.0)
    assert handle.error_kind == "no-daemon" and "is a directory, not a socket" in handle.error
    assert "is a regular file" in connect(Endpoint(f"unix://{tmp_path}/plain", "DOCKER_HOST"), {}, timeout=1.0).error


def test_ssh_without_paramiko_is_an_error_of_ours_not_a_dead_daemon(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "paramiko" else real(name, *a))
    handle = connect(Endpoint("ssh://me@127.0.0.1:1", "DOCKER_HOST"), {}, timeout=1.0)
    assert handle.error_kind == "unsupported" and "paramiko" in handle.error and "not contacted" in handle.error
    f = DockerDaemon().run(make_ctx(docker=handle))
    assert f.status == Status.ERROR
    verdict = decide([f])
    assert verdict.cause == "unknown" and "could not be checked" in verdict.summary and "paramiko" in verdict.summary


def test_home_unset_for_a_uid_without_passwd_entry_is_not_a_crash(no_home):
    assert find_endpoint({}) == Endpoint(DEFAULT_SOCKET, "default socket")
    assert find_endpoint({"DOCKER_CONTEXT": "dind"}).problem  # the CLI could not find it either
