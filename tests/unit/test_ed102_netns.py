"""ED102: our net namespace vs the daemon process's, found by --data-root/--host; never a guess."""

from __future__ import annotations

import os

from earthly_doctor.checks.ed102_netns import NetworkNamespace
from earthly_doctor.model import Status
from earthly_doctor.probes.netns import compare_with_daemon
from tests.helpers.facts import daemon, make_ctx

CHECK = NetworkNamespace()


def fake_proc(root, own_ns, daemons):
    """daemons: {pid: (argv, net_ns or None for unreadable)}"""
    (root / "self" / "ns").mkdir(parents=True)
    os.symlink(f"net:[{own_ns}]", root / "self" / "ns" / "net")
    for pid, (argv, ns) in daemons.items():
        d = root / str(pid)
        (d / "ns").mkdir(parents=True)
        (d / "comm").write_text(os.path.basename(argv[0]) + "\n")
        (d / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        if ns is not None:
            os.symlink(f"net:[{ns}]", d / "ns" / "net")
    return root


def run(tmp_path, own_ns, daemons, handle):
    ctx = make_ctx(docker=handle)
    ctx.env.proc_root = fake_proc(tmp_path / "proc", own_ns, daemons)
    return CHECK.run(ctx)


def test_same_namespace_as_the_matching_daemon(tmp_path):
    f = run(tmp_path, 111, {50: (["/usr/bin/dockerd", "-H", "fd://"], 111)}, daemon())
    assert f.status == Status.PASS and "share net:[111]" in f.summary
    assert f.fact("matched_by").startswith("--data-root matches")


def test_dind_daemon_in_another_namespace_is_picked_by_its_data_root_among_several(tmp_path):
    procs = {
        50: (["dockerd", "--host", "unix:///tmp/dd1/docker.sock", "--data-root", "/tmp/dd1/data"], 111),
        77: (["dockerd", "--host", "tcp://10.231.0.1:2375", "--data-root", "/tmp/dind/data", "--tls=false"], 222),
    }
    f = run(tmp_path, 111, procs, daemon("tcp://10.231.0.1:2375", "DOCKER_HOST", DockerRootDir="/tmp/dind/data"))
    assert f.status == Status.FAIL
    assert f.fact("daemon_pid") == 77 and f.fact("daemon_netns") == "net:[222]"


def test_host_flag_decides_when_data_roots_are_unknown(tmp_path):
    procs = {50: (["dockerd", "-H", "unix:///a.sock"], 111), 77: (["dockerd", "--host=tcp://10.231.0.1:2375"], 222)}
    facts = compare_with_daemon(fake_proc(tmp_path / "p", 111, procs), "tcp://10.231.0.1:2375", None)
    assert facts.comparison == "different" and facts.daemon.pid == 77


def test_no_daemon_visible_is_said_not_guessed(tmp_path):
    f = run(tmp_path, 111, {}, daemon())
    assert f.status == Status.SKIP
    assert "no dockerd process is visible" in f.summary and "net:[111]" in f.summary


def test_two_daemons_that_cannot_be_told_apart(tmp_path):
    procs = {50: (["dockerd"], 111), 51: (["dockerd"], 333)}
    f = run(tmp_path, 111, procs, daemon("unix:///run/mounted.sock", DockerRootDir="/srv/docker"))
    assert f.status == Status.SKIP and "2 dockerd process(es)" in f.summary


def test_unreadable_daemon_namespace(tmp_path):
    f = run(tmp_path, 111, {50: (["dockerd"], None)}, daemon())
    assert f.status == Status.SKIP and "visible but its namespace is not" in f.summary
