"""ED130 (a running Earthly's proxy listens and answers /v2/) and ED121 (the daemon reaches it), on a fake /proc."""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading

from earthly_doctor.checks.ed121_live_proxy_reach import LiveProxyReach
from earthly_doctor.checks.ed130_earthly_proxy import EarthlyProxyAlive
from earthly_doctor.model import Status
from earthly_doctor.probes.processes import EarthlyProcess, Listener, find_earthly_processes, global_flags
from earthly_doctor.probes.reach import Reach
from tests.helpers.facts import daemon, make_ctx


class Registry(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *a):
        pass


def fake_proc(root, port, own_ns=111, proc_ns=111, environ=b"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=\0SECRET_TOKEN=hunter2\0"):
    (root / "self" / "ns").mkdir(parents=True)
    os.symlink(f"net:[{own_ns}]", root / "self" / "ns" / "net")
    p = root / "4242"
    for d in ("ns", "fd", "net"):
        (p / d).mkdir(parents=True)
    (p / "comm").write_text("earthly\n")
    (p / "cmdline").write_bytes(b"/usr/local/bin/earthly\0--secret\0TOKEN=abc\0-V\0+build\0--name=x\0")
    (p / "environ").write_bytes(environ)
    os.symlink("/work", p / "cwd")
    os.symlink(f"net:[{proc_ns}]", p / "ns" / "net")
    os.symlink("socket:[9001]", p / "fd" / "7")
    os.symlink("/dev/null", p / "fd" / "0")
    (p / "net" / "tcp").write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        f"   0: 0100007F:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9001 1 0\n"
        f"   1: 0100007F:{port + 1:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9999 1 0\n"
    )
    return root


def test_the_proc_reader_finds_the_listener_and_probes_v2(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        procs = find_earthly_processes(fake_proc(tmp_path, port), timeout=2)
    finally:
        server.shutdown()
        server.server_close()
    (p,) = procs
    assert p.pid == 4242 and p.same_netns and p.cwd == "/work"
    assert [(l.address, l.port) for l in p.listeners] == [("127.0.0.1", port)]  # 9999 is another process's socket
    assert p.listeners[0].answers_v2 is True and "registry/2.0" in p.listeners[0].v2_detail
    assert p.settings == {"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": ""}  # only named settings, never the rest
    assert p.flags == ["--secret", "-V"]  # secret values and everything after the target are dropped


def test_listeners_in_another_namespace_are_not_probed(tmp_path):
    (p,) = find_earthly_processes(fake_proc(tmp_path, 40001, proc_ns=222), timeout=0.5)
    assert p.same_netns is False and p.listeners[0].answers_v2 is None


def proc(port=35137, same=True, answers=True):
    return EarthlyProcess(4242, "earthly", 111 if same else 222, same, ["-V"],
                          listeners=[Listener("127.0.0.1", port, answers if same else None, "HTTP 200" if answers else "RemoteDisconnected")])


def test_ed130_states():
    assert EarthlyProxyAlive().run(make_ctx(earthly_processes=[])).status == Status.SKIP
    assert EarthlyProxyAlive().run(make_ctx(earthly_processes=[proc()])).status == Status.PASS
    assert EarthlyProxyAlive().run(make_ctx(earthly_processes=[proc(answers=False)])).status == Status.FAIL
    f = EarthlyProxyAlive().run(make_ctx(earthly_processes=[proc(same=False)]))
    assert f.status == Status.PASS and "another network namespace" in f.summary


def refused(port=35137):
    return Reach(port, "refused", f"127.0.0.1:{port}/earthly-doctor-probe/n@sha256:0", f"dial tcp 127.0.0.1:{port}: connect: connection refused", 3)


def test_ed121_refused_here_is_the_builds_failure():
    f = LiveProxyReach().run(make_ctx(earthly_processes=[proc()], earthly_reach={(4242, 35137): refused()}, docker=daemon()))
    assert f.status == Status.FAIL and f.extra["refused"] and "connection refused" in f.summary
    assert f.remedies[0] == "disable-proxy"


def test_ed121_reached_passes_and_other_namespaces_only_warn():
    ok = Reach(35137, "reached", "r", "manifest verification failed for digest sha256:0", 4)
    assert LiveProxyReach().run(make_ctx(earthly_processes=[proc()], earthly_reach={(4242, 35137): ok}, docker=daemon())).status == Status.PASS
    f = LiveProxyReach().run(make_ctx(earthly_processes=[proc(same=False)], earthly_reach={(4242, 35137): refused()}, docker=daemon()))
    assert f.status == Status.WARN


def test_ed121_skips_without_earthly():
    assert LiveProxyReach().run(make_ctx(earthly_processes=[], docker=daemon())).status == Status.SKIP


def test_global_flags_stop_at_the_target():
    assert global_flags(["earthly", "--ci", "--secret=A=b", "+t", "--disable-remote-registry-proxy"]) == ["--ci", "--secret=…"]


def test_no_earthly_visible_says_other_containers_cannot_be_seen():
    ctx = make_ctx(earthly_processes=[], docker=daemon())
    for check in (EarthlyProxyAlive(), LiveProxyReach()):
        f = check.run(ctx)
        assert f.status == Status.SKIP and "another container" in f.summary and "is running here" not in f.summary


def test_ed121_does_not_claim_no_listener_when_the_sockets_are_unreadable():
    other_users = EarthlyProcess(4242, "earthly", None, None, [], error="cannot read /proc/4242: Permission denied")
    f = LiveProxyReach().run(make_ctx(earthly_processes=[other_users], docker=daemon()))
    assert f.status == Status.SKIP and "cannot all be read" in f.summary and "no proxy listens" not in f.summary
