"""Network namespaces for tests: `ip netns` + a veth pair in 10.231.<n>.0/30, always deleted afterwards.

Used for topologies without containers (a daemon in another namespace reached over TCP: the Docker-in-Docker
shape) and to give an extra dockerd a namespace of its own, so that `--bridge none` (which deletes a `docker0`
link on start) can never touch the shared test daemon's bridge.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.harness import dockerd as harness


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=check)


@dataclass
class Netns:
    name: str
    host_addr: str  # our end of the veth, in the host namespace
    ns_addr: str  # the namespace's end

    @property
    def path(self) -> str:
        return f"/var/run/netns/{self.name}"

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        """Run a command in the namespace (nsenter: keeps /sys and the cgroup mounts, unlike `ip netns exec`)."""
        return subprocess.run(["nsenter", f"--net={self.path}", *argv], **kw)


def why_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root for ip netns"
    for tool in ("ip", "nsenter"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            return f"{tool} not found"
    return None


@contextlib.contextmanager
def netns(index: int) -> Iterator[Netns]:
    """A fresh namespace `ed-<rand>` with lo up and a veth pair 10.231.<index>.1/30 (host) - .2/30 (namespace)."""
    tag = uuid.uuid4().hex[:6]
    name, host_if, ns_if = f"ed-{tag}", f"edh{tag}", f"edn{tag}"
    ns = Netns(name, f"10.231.{index}.1", f"10.231.{index}.2")
    _ip("netns", "add", name)
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", name)
        _ip("addr", "add", f"{ns.host_addr}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        for args in (["addr", "add", f"{ns.ns_addr}/30", "dev", ns_if], ["link", "set", ns_if, "up"], ["link", "set", "lo", "up"]):
            _ip("-n", name, *args)
        yield ns
    finally:
        _ip("link", "del", host_if, check=False)  # deleting one end removes the pair
        _ip("netns", "del", name, check=False)


@contextlib.contextmanager
def daemon_in_netns(ns: Netns, extra_args: list[str] | None = None, env: dict | None = None,
                    tcp: bool = False) -> Iterator[harness.Daemon]:
    """A private dockerd inside `ns` (its own roots, pid file and unix socket; `--bridge none`, no iptables).

    The root is a short folder under /tmp: containerd's socket path below it must fit in sun_path (108 bytes).
    """
    args = ["--bridge", "none", "--iptables=false", "--ip-masq=false"]
    if tcp:
        # --tls=false beside a tcp:// host, or dockerd 20.10 waits 15 s on purpose before serving.
        args += ["--host", f"tcp://{ns.ns_addr}:2375", "--tls=false"]
    root = Path(tempfile.mkdtemp(prefix="ed-", dir="/tmp"))
    try:
        daemon = harness.start_daemon(root, args + (extra_args or []), env=env, netns=ns.name)
    except BaseException:
        harness.unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield daemon
    finally:
        daemon.stop()
