"""ED130's facts: running `earthly` / `earth` processes, their 127.0.0.1 listeners, and whether each answers /v2/.

Listening sockets are read from the process's own `/proc/<pid>/net/tcp` (its network namespace, which psutil's
per-process view does not use) and matched to its socket inodes under `/proc/<pid>/fd`. Only a few named
settings are read from a process's environment: never the whole of it (it may hold secrets).
"""

from __future__ import annotations

import http.client
import os
from dataclasses import dataclass, field
from pathlib import Path

from earthly_doctor.probes.container import ns_inode
from earthly_doctor.probes.netns import read_processes

EARTHLY_NAMES = ("earthly", "earth")
# The environment variables that change how an export happens (research/earthly.md §2.1); nothing else is read.
SETTING_VARS = (
    "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY",
    "EARTH_DISABLE_REMOTE_REGISTRY_PROXY",
    "EARTHLY_CI",
    "EARTH_CI",
    "EARTHLY_OUTPUT",
    "EARTH_OUTPUT",
    "EARTHLY_NO_OUTPUT",
    "EARTH_NO_OUTPUT",
    "EARTHLY_BUILDKIT_HOST",
    "EARTH_BUILDKIT_HOST",
    "EARTHLY_IMAGE",
    "EARTHLY_ENV_FILE_PATH",
    "EARTH_ENV_FILE_PATH",
)
_LISTEN = "0A"


@dataclass
class Listener:
    address: str
    port: int
    answers_v2: bool | None = None  # None: not probed (another namespace)
    v2_detail: str = ""


@dataclass
class EarthlyProcess:
    pid: int
    name: str  # earthly | earth
    net_ns: int | None
    same_netns: bool | None
    flags: list[str] = field(default_factory=list)  # global flags before the target (values of --secret dropped)
    settings: dict[str, str] = field(default_factory=dict)  # only SETTING_VARS, when readable
    cwd: str | None = None
    listeners: list[Listener] = field(default_factory=list)
    error: str | None = None


def _hex_addr(text: str) -> tuple[str, int]:
    addr, port = text.split(":")
    if len(addr) == 8:  # IPv4, little-endian on the architectures we run on
        ip = ".".join(str(int(addr[i : i + 2], 16)) for i in (6, 4, 2, 0))
    else:
        ip = "::1" if addr == "00000000000000000000000001000000" else "::"
    return ip, int(port, 16)


def listening_sockets(proc_root: Path, pid: int) -> list[tuple[str, int]]:
    """(address, port) of TCP sockets this process holds in LISTEN state, from its own namespace's tables."""
    inodes: set[str] = set()
    fd_dir = proc_root / str(pid) / "fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc_root / str(pid) / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == _LISTEN and cols[9] in inodes:
                found.append(_hex_addr(cols[1]))
    return sorted(set(found), key=lambda a: a[1])


def global_flags(argv: list[str]) -> list[str]:
    """Flags before the target reference (after it come build args); values of secret flags are never kept."""
    flags: list[str] = []
    skip_next = False
    for arg in argv[1:]:
        if skip_next:
            skip_next = False
            continue
        if arg.startswith("+") or ("+" in arg and not arg.startswith("-")):
            break
        if not arg.startswith("-"):
            continue
        name = arg.split("=", 1)[0]
        if name in ("--secret", "-s", "--secret-file", "--build-arg", "--token"):
            skip_next = "=" not in arg
            flags.append(name + ("=…" if "=" in arg else ""))
            continue
        flags.append(arg)
    return flags


def _read_settings(proc_root: Path, pid: int) -> dict[str, str]:
    raw = (proc_root / str(pid) / "environ").read_bytes()
    found = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.decode(errors="replace").partition("=")
        if sep and key in SETTING_VARS:
            found[key] = value
    return found


def probe_v2(port: int, timeout: float) -> tuple[bool, str]:
    """GET http://127.0.0.1:<port>/v2/ from here: a registry answers 200/401 with its API version header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/v2/")
        resp = conn.getresponse()
        resp.read(4096)
        header = resp.getheader("Docker-Distribution-API-Version") or ""
        ok = resp.status in (200, 401) and (bool(header) or resp.status == 200)
        return ok, f"HTTP {resp.status}" + (f", Docker-Distribution-API-Version: {header}" if header else "")
    except (OSError, http.client.HTTPException) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def find_earthly_processes(proc_root: Path, timeout: float = 1.0, probe: bool = True) -> list[EarthlyProcess]:
    own_ns = ns_inode(proc_root, "self", "net")
    own_pid = os.getpid()
    result = []
    for p in read_processes(proc_root, EARTHLY_NAMES):
        if p.pid == own_pid:
            continue
        name = next((n for n in (p.name, *(Path(a).name for a in p.cmdline[:2])) if n in EARTHLY_NAMES), p.name)
        argv = p.cmdline[1:] if p.cmdline and Path(p.cmdline[0]).name not in EARTHLY_NAMES else p.cmdline
        net = ns_inode(proc_root, p.pid, "net")
        proc = EarthlyProcess(p.pid, name, net, None if net is None or own_ns is None else net == own_ns, global_flags(argv))
        try:
            proc.settings = _read_settings(proc_root, p.pid)
            proc.cwd = os.readlink(proc_root / str(p.pid) / "cwd")
            sockets = listening_sockets(proc_root, p.pid)
        except OSError as exc:
            proc.error = f"cannot read /proc/{p.pid}: {exc.strerror or exc}"
            result.append(proc)
            continue
        for address, port in sockets:
            if address not in ("127.0.0.1", "::1", "0.0.0.0", "::"):
                continue
            listener = Listener(address, port)
            if probe and proc.same_netns:
                listener.answers_v2, listener.v2_detail = probe_v2(port, timeout)
            elif not proc.same_netns:
                listener.v2_detail = "in another network namespace: cannot be probed from here"
            proc.listeners.append(listener)
        result.append(proc)
    return result
