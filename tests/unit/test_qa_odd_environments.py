"""Regressions found by QA in odd environments: a missing docker context, HOME unset for a uid with no passwd entry,
another user's unreadable HOME, ssh:// without paramiko, a build in another container, another user's earthly,
and `run --docker-host` reaching the build."""

from __future__ import annotations

import functools
import json
import importlib.util
import os
import sys
from pathlib import Path

import pytest

from earthly_doctor.checks.ed110_docker_daemon import DockerDaemon
from earthly_doctor.checks.ed121_live_proxy_reach import LiveProxyReach
from earthly_doctor.checks.ed130_earthly_proxy import EarthlyProxyAlive
from earthly_doctor.commands.run import RunRequest, run
from earthly_doctor.environment import Environment
from earthly_doctor.model import Status
from earthly_doctor.probes.docker_client import connect
from earthly_doctor.probes.docker_endpoint import DEFAULT_SOCKET, Endpoint, find_endpoint
from earthly_doctor.probes.earthly_settings import evaluate
from earthly_doctor.probes.processes import EarthlyProcess
from earthly_doctor.stream import run_streaming
from earthly_doctor.verdict import decide
from tests.helpers.facts import daemon, make_ctx


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


@pytest.fixture
def no_home(monkeypatch):
    """HOME unset for a uid with no passwd entry: Path.home() raises."""
    def raise_(cls=None):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", classmethod(raise_))


@pytest.fixture
def unreadable_home(tmp_path, monkeypatch):
    """Another user's HOME: stat below it is EACCES (Path.exists/is_file raise it before Python 3.12)."""
    home = tmp_path / "root"
    real_stat = Path.stat

    def guarded(self, *a, **kw):
        if str(self).startswith(str(home)):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *a, **kw)

    monkeypatch.setattr(Path, "stat", guarded)
    return home


def test_home_unset_for_a_uid_without_passwd_entry_is_not_a_crash(no_home):
    assert find_endpoint({}) == Endpoint(DEFAULT_SOCKET, "default socket")
    assert find_endpoint({"DOCKER_CONTEXT": "dind"}).problem  # the CLI could not find it either


def test_another_users_home_does_not_break_the_settings(tmp_path, unreadable_home):
    settings = evaluate({"HOME": str(unreadable_home)}, tmp_path)
    assert settings.export_path == "proxy"


def test_ssh_without_paramiko_is_an_error_of_ours_not_a_dead_daemon(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "paramiko" else real(name, *a))
    handle = connect(Endpoint("ssh://me@127.0.0.1:1", "DOCKER_HOST"), {}, timeout=1.0)
    assert handle.error_kind == "unsupported" and "paramiko" in handle.error and "not contacted" in handle.error
    f = DockerDaemon().run(make_ctx(docker=handle))
    assert f.status == Status.ERROR
    verdict = decide([f])
    assert verdict.cause == "unknown" and "could not be checked" in verdict.summary and "paramiko" in verdict.summary


def test_no_earthly_visible_says_other_containers_cannot_be_seen():
    ctx = make_ctx(earthly_processes=[], docker=daemon())
    for check in (EarthlyProxyAlive(), LiveProxyReach()):
        f = check.run(ctx)
        assert f.status == Status.SKIP and "another container" in f.summary and "is running here" not in f.summary


def test_ed121_does_not_claim_no_listener_when_the_sockets_are_unreadable():
    other_users = EarthlyProcess(4242, "earthly", None, None, [], error="cannot read /proc/4242: Permission denied")
    f = LiveProxyReach().run(make_ctx(earthly_processes=[other_users], docker=daemon()))
    assert f.status == Status.SKIP and "cannot all be read" in f.summary and "no proxy listens" not in f.summary


def test_run_docker_host_reaches_the_build(tmp_path):
    """`run --docker-host URL`: the preflight probes URL, so the build must use URL too, not the default socket."""
    child = tmp_path / "earthly"
    child.write_text(f"#!{sys.executable}\nimport os\nopen({str(tmp_path / 'seen')!r}, 'w').write(os.environ.get('DOCKER_HOST', '-'))\n")
    child.chmod(0o755)
    out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        spawn = functools.partial(run_streaming, out_fd=out, err_fd=out, use_pty=False)
        environment = Environment(env={"PATH": os.environ["PATH"], "DOCKER_HOST": "unix:///elsewhere.sock"}, cwd=tmp_path)
        request = RunRequest([str(child), "+img"], preflight=False, docker_host="tcp://127.0.0.1:1")
        result = run(request, environment, lambda line: None, spawn=spawn, checks=[])
    finally:
        os.close(out)
    assert result.exit_code == 0
    assert (tmp_path / "seen").read_text() == "tcp://127.0.0.1:1"
    assert result.attempts[0].variables == {}  # not mistaken for "the proxy was already disabled"


def test_a_new_file_gets_the_umask_mode_not_mkstemps_0600(tmp_path):
    """--output reports are read by Jenkins' junit/recordIssues steps, often as another user: 0600 hid them."""
    from earthly_doctor.fsutil import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.xml", "<x/>")
        atomic_write_text(tmp_path / "secret", "s", mode=0o600)
    finally:
        os.umask(old)
    assert (tmp_path / "new.xml").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    (tmp_path / "new.xml").chmod(0o640)
    atomic_write_text(tmp_path / "new.xml", "<y/>")
    assert (tmp_path / "new.xml").stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode


def test_native_reports_offer_only_the_remedies_the_verdict_found_for_this_topology():
    """ED120 lists every remedy it may need; pinned-port (unproven 8371) and host-network (a remote daemon) must not
    reappear in JUnit/Warnings NG/SARIF/Markdown when the verdict ruled them out."""
    from earthly_doctor import reports
    from earthly_doctor.model import Confidence, Finding, Report, Verdict
    from earthly_doctor.reports._native import fix_ids

    canary = Finding("ED120", "Daemon reaches this namespace's loopback", Status.FAIL, summary="connection refused",
                     remedies=["disable-proxy", "host-network", "pinned-port"])
    verdict = Verdict("proxy-unreachable-remote-daemon", "remote", Confidence.PROVEN, ["disable-proxy"])
    report = Report([canary], verdict, "0")
    assert fix_ids(canary, report) == ["disable-proxy"]
    for fmt in ("junit", "warnings-ng", "sarif", "markdown"):
        text = reports.render(fmt, report)
        assert "pinned-port" not in text and "host-network" not in text, fmt
    proxy = Finding("ED111", "Daemon HTTP proxy", Status.WARN, summary="proxy", remedies=["daemon-no-proxy"])
    assert fix_ids(proxy, Report([proxy], verdict, "0")) == ["daemon-no-proxy"]  # not topology-bound: kept


def test_a_build_refused_in_another_namespace_is_not_healthy_even_when_the_canary_arrives():
    """diagnose on the host while the agent container builds: the canary reaches (host namespace), but ED121 proves
    the running build's own proxy port refused; the verdict must not say the proxy is reachable."""
    from earthly_doctor.model import Evidence, Finding

    daemon_ok = Finding("ED110", "daemon", Status.PASS, evidence=[Evidence("daemon_kind", "local", "t")])
    canary = Finding("ED120", "canary", Status.PASS, evidence=[Evidence("daemon_outcome", "reached", "t")])
    live = LiveProxyReach().run(make_ctx(
        earthly_processes=[EarthlyProcess(4242, "earthly", 222, False, [], listeners=[_listener(44011)])],
        earthly_reach={(4242, 44011): _refused(44011)}, docker=daemon()))
    assert live.status == Status.WARN and live.extra["refused_elsewhere"]
    v = decide([daemon_ok, canary, live])
    assert v.cause == "proxy-unreachable-bridge-container" and "pid 4242" in v.summary
    assert v.remedies[:2] == ["disable-proxy", "host-network"]
    remote = Finding("ED110", "daemon", Status.PASS, evidence=[Evidence("daemon_kind", "remote", "t")])
    assert "host-network" not in decide([remote, canary, live]).remedies
    assert decide([daemon_ok, canary]).cause == "healthy"


def _listener(port):
    from earthly_doctor.probes.processes import Listener

    return Listener("127.0.0.1", port, None, "in another network namespace")


def _refused(port):
    from earthly_doctor.probes.reach import Reach

    return Reach(port, "refused", f"127.0.0.1:{port}/p@sha256:0", f"dial tcp 127.0.0.1:{port}: connect: connection refused", 3)


def test_a_tcp_docker_host_without_a_port_gets_the_docker_cli_default():
    assert find_endpoint({"DOCKER_HOST": "tcp://localhost"}).url == "tcp://localhost:2375"
    assert find_endpoint({"DOCKER_HOST": "tcp://docker", "DOCKER_TLS_VERIFY": "1"}).url == "tcp://docker:2376"
    assert find_endpoint({}, "tcp://[::1]").url == "tcp://[::1]:2375"
    assert find_endpoint({"DOCKER_HOST": "tcp://[::1]:1"}).url == "tcp://[::1]:1"
    assert find_endpoint({"DOCKER_HOST": "unix:///x.sock"}).url == "unix:///x.sock"


def test_an_output_file_that_cannot_be_written_fails_the_step_unless_exit_zero(tmp_path):
    """Exit 0 after `could not write` would leave Jenkins' junit step to fail later with no hint why."""
    import subprocess

    (tmp_path / "file").write_text("")
    base = [sys.executable, "-m", "earthly_doctor", "diagnose", "--only", "ED101", "--format", "json",
            "--output", f"junit:{tmp_path / 'file' / 'r.xml'}", "--output", f"json:{tmp_path / 'ok.json'}"]
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(base, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and result.stderr.count("could not write") == 1 and "Traceback" not in result.stderr
    assert (tmp_path / "ok.json").exists() and json.loads(result.stdout)["schema"]  # the rest is still written
    zero = subprocess.run([*base, "--exit-zero"], capture_output=True, text=True, timeout=60, env=env)
    assert zero.returncode == 0 and "could not write" in zero.stderr


def test_a_fact_cut_short_by_the_run_deadline_blames_the_deadline_not_the_daemon():
    """--timeout 0.1: 'docker: no answer within 0.0s' read as a dead daemon; the run's own deadline cut it short."""
    import threading

    from earthly_doctor.context import Context, FactTimeout, Options, Provider

    release = threading.Event()
    ctx = Context(options=Options(timeout=0.2), providers={"docker": Provider("docker", lambda c: release.wait(5), timeout=30.0)})
    try:
        with pytest.raises(FactTimeout, match=r"docker: not finished by the run's deadline \(0.2s\)"):
            ctx.fact("docker")
    finally:
        release.set()


def test_bundle_and_pinned_port_survive_no_home(no_home):
    """`bundle` was an internal error (exit 3) with HOME unset for a uid without a passwd entry."""
    from earthly_doctor.commands import bundle as bundle_cmd
    from earthly_doctor.remedies.pinned_port import config_path

    assert bundle_cmd._docker_config_path({}) is None
    assert bundle_cmd._earthly_config_paths({}) == [p for p in [Path("/etc/.earthly/config.yml")] if os.path.isfile(p)]
    assert config_path({}).name == "config.yml"


def test_bundle_and_pinned_port_survive_another_users_home(unreadable_home):
    from earthly_doctor.commands import bundle as bundle_cmd
    from earthly_doctor.remedies.pinned_port import config_path

    home = {"HOME": str(unreadable_home)}
    assert bundle_cmd._earthly_config_paths(home) == [p for p in [Path("/etc/.earthly/config.yml")] if os.path.isfile(p)]
    assert config_path(home) == unreadable_home / ".earthly" / "config.yml"


def test_a_closed_stdout_is_not_an_internal_error(tmp_path):
    """`earthly-doctor diagnose >&-`: Python sets sys.stdout to None; the report files and exit code still come out."""
    import subprocess

    out = tmp_path / "r.json"
    result = subprocess.run([sys.executable, "-m", "earthly_doctor", "diagnose", "--only", "ED101", "--output", f"json:{out}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
                            env={**os.environ, "NO_COLOR": "1"}, preexec_fn=lambda: os.close(1))
    assert result.returncode == 0 and "internal error" not in result.stderr, result.stderr
    assert json.loads(out.read_text())["schema"] == "earthly-doctor/report/v1"


def test_a_socket_path_that_is_a_directory_says_the_mount_went_wrong(tmp_path):
    """The classic agent mistake: the socket's bind-mount source did not exist, so Docker created a directory."""
    (tmp_path / "docker.sock").mkdir()
    (tmp_path / "plain").write_text("")
    handle = connect(Endpoint(f"unix://{tmp_path}/docker.sock", "DOCKER_HOST"), {}, timeout=1.0)
    assert handle.error_kind == "no-daemon" and "is a directory, not a socket" in handle.error
    assert "is a regular file" in connect(Endpoint(f"unix://{tmp_path}/plain", "DOCKER_HOST"), {}, timeout=1.0).error
