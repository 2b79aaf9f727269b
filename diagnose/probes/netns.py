"""ED102's facts: this process's network namespace, and the Docker daemon's when its process is visible.

There is no fixed inode for the host's net namespace (anchors.md §C.4), so the only honest comparison is with the
daemon's own process: found by name, then matched to the daemon we talk to by its `--host` and `--data-root`
against the endpoint and `/info` DockerRootDir. When it cannot be seen or told apart, we say so and never guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from earthly_doctor.probes.container import ns_inode

DAEMON_NAMES = ("dockerd",)
DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_DATA_ROOT = "/var/lib/docker"


@dataclass
class ProcInfo:
    pid: int
    name: str
    cmdline: list[str]


@dataclass
class DaemonProcess:
    pid: int
    hosts: list[str]
    data_root: str
    net_ns: int | None
    ns_error: str | None = None


@dataclass
class NetnsFacts:
    own_ns: int | None
    daemon: DaemonProcess | None = None
    match: str = ""  # how the daemon process was identified
    candidates: int = 0  # dockerd processes visible
    comparison: str = "unknown"  # same | different | unknown
    reason: str = ""  # why unknown
    candidate_pids: list[int] = field(default_factory=list)


def read_processes(proc_root: Path, names: tuple[str, ...] | None = None) -> list[ProcInfo]:
    """Processes under proc_root (optionally only those whose comm or argv[0..1] basename is in `names`)."""
    found: list[ProcInfo] = []
    try:
        entries = list(proc_root.iterdir())
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # exited meanwhile, or not ours to read
        argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        if names is not None:
            bases = {comm} | {Path(a).name for a in argv[:1]}
            if len(argv) > 1 and Path(argv[0]).name.startswith(("python", "sh", "bash")):
                bases.add(Path(argv[1]).name)  # a script run by its interpreter (comm is the interpreter's name)
            if not bases & set(names):
                continue
        found.append(ProcInfo(int(entry.name), comm, argv))
    return sorted(found, key=lambda p: p.pid)


def _flag_values(argv: list[str], *names: str) -> list[str]:
    values = []
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                values.append(argv[i + 1])
            elif arg.startswith(name + "="):
                values.append(arg.split("=", 1)[1])
    return values


def _normal_host(url: str) -> str:
    if url.startswith("/"):
        return "unix://" + url
    if url.startswith("fd://"):
        return DEFAULT_HOST  # socket activation: systemd's docker.socket is the default path
    return url.rstrip("/")


def compare_with_daemon(proc_root: Path, endpoint_url: str | None, info: dict[str, Any] | None) -> NetnsFacts:
    facts = NetnsFacts(own_ns=ns_inode(proc_root, "self", "net"))
    procs = [p for p in read_processes(proc_root, DAEMON_NAMES) if p.name in DAEMON_NAMES or Path(p.cmdline[0]).name in DAEMON_NAMES]
    facts.candidates = len(procs)
    facts.candidate_pids = [p.pid for p in procs]
    if facts.own_ns is None:
        facts.reason = f"{proc_root}/self/ns/net cannot be read"
        return facts
    if not procs:
        facts.reason = "no dockerd process is visible from here (another PID namespace, another machine, or a VM)"
        return facts
    daemons = []
    for p in procs:
        hosts = [_normal_host(h) for h in _flag_values(p.cmdline, "-H", "--host")] or [DEFAULT_HOST]
        roots = _flag_values(p.cmdline, "--data-root", "-g", "--graph")
        daemons.append(DaemonProcess(p.pid, hosts, roots[-1] if roots else DEFAULT_DATA_ROOT, None))
    want_root = (info or {}).get("DockerRootDir")
    want_host = _normal_host(endpoint_url) if endpoint_url else None
    chosen: list[DaemonProcess] = []
    if want_root:
        chosen = [d for d in daemons if d.data_root.rstrip("/") == str(want_root).rstrip("/")]
        facts.match = f"--data-root matches /info DockerRootDir {want_root}"
        if len(chosen) > 1 and want_host:
            narrowed = [d for d in chosen if want_host in d.hosts]
            if narrowed:
                chosen, facts.match = narrowed, facts.match + f" and --host {want_host}"
    if not chosen and want_host:
        chosen = [d for d in daemons if want_host in d.hosts]
        facts.match = f"--host matches the endpoint {want_host}"
    if len(chosen) != 1:
        facts.match = ""
        facts.reason = (
            f"{len(daemons)} dockerd process(es) visible (pids {', '.join(str(d.pid) for d in daemons)}), "
            f"{'none' if not chosen else 'several'} matching this daemon's data root {want_root or '?'} / endpoint {want_host or '?'}"
        )
        return facts
    daemon = chosen[0]
    try:
        import os

        target = os.readlink(proc_root / str(daemon.pid) / "ns" / "net")
        daemon.net_ns = int(target.split("[", 1)[1].rstrip("]"))
    except PermissionError:
        daemon.ns_error = "permission denied (reading another user's namespace needs root or CAP_SYS_PTRACE)"
    except (OSError, IndexError, ValueError) as exc:
        daemon.ns_error = f"cannot read: {exc}"
    facts.daemon = daemon
    if daemon.net_ns is None:
        facts.reason = f"dockerd pid {daemon.pid} is visible but its namespace is not: {daemon.ns_error}"
        return facts
    facts.comparison = "same" if daemon.net_ns == facts.own_ns else "different"
    return facts
