"""A real rootless dockerd (Debian's docker.io + rootlesskit + slirp4netns + uidmap), as its docs start it.

Root steps, done here and said so (idempotent): an account `edrootless` with /etc/subuid and /etc/subgid ranges
(usermod --add-subuids/--add-subgids), /dev/net/tun readable by it (0600 on this machine: chmod 666, which
slirp4netns needs), and /run/user/<uid> owned by it (what a login session would make). Then, as that user,
`/usr/share/docker.io/contrib/dockerd-rootless.sh --storage-driver vfs` with XDG_RUNTIME_DIR below /run/user/<uid>:
RootlessKit gives dockerd a user and network namespace of its own, and the API answers at
unix://$XDG_RUNTIME_DIR/docker.sock (here in under a second; the issue measured ~15 s elsewhere). Each test session
uses its own XDG_RUNTIME_DIR below /run/user/<uid>, so two sessions never share RootlessKit's state.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

USER = "edrootless"
SCRIPT = Path("/usr/share/docker.io/contrib/dockerd-rootless.sh")
SUBID_RANGE = ("231072", "65536")
START_TIMEOUT = 90.0


def why_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root to set up the rootless user"
    if not SCRIPT.exists():
        return f"{SCRIPT} not found (apt-get install docker.io)"
    for tool in ("rootlesskit", "slirp4netns", "newuidmap", "dockerd"):
        if not shutil.which(tool):
            return f"{tool} not found (apt-get install rootlesskit slirp4netns uidmap)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun missing"
    return None


def _has_range(path: str, user: str) -> bool:
    try:
        return any(line.split(":", 1)[0] == user for line in Path(path).read_text().splitlines())
    except OSError:
        return False


def setup_user() -> pwd.struct_passwd:
    """The root steps (idempotent): the account, its subordinate id ranges, the tun device, its runtime dir."""
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True, capture_output=True,
                       timeout=30)
        entry = pwd.getpwnam(USER)
    start, count = SUBID_RANGE
    end = str(int(start) + int(count) - 1)
    if not _has_range("/etc/subuid", USER):
        subprocess.run(["usermod", "--add-subuids", f"{start}-{end}", USER], check=True, capture_output=True,
                       timeout=30)
    if not _has_range("/etc/subgid", USER):
        subprocess.run(["usermod", "--add-subgids", f"{start}-{end}", USER], check=True, capture_output=True,
                       timeout=30)
    mode = os.stat("/dev/net/tun").st_mode
    if mode & 0o006 != 0o006:
        os.chmod("/dev/net/tun", stat.S_IMODE(mode) | 0o666)  # noqa: S103 -- slirp4netns opens it as the user
    runtime = Path(f"/run/user/{entry.pw_uid}")
    runtime.mkdir(parents=True, exist_ok=True)
    os.chown(runtime, entry.pw_uid, entry.pw_gid)
    os.chmod(runtime, 0o700)
    return entry


@dataclass
class RootlessDaemon:
    host: str
    data: Path | None = None
    process: subprocess.Popen | None = None  # None: a daemon someone else started (.ci/run), never stopped here
    log: Path | None = None
    runtime: Path | None = None

    @property
    def socket(self) -> str:
        return self.host.split("://", 1)[1]

    def docker(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True, timeout=timeout)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        paths = [str(p) for p in (self.data, self.runtime, self.log) if p is not None]
        subprocess.run(["rm", "-rf", *paths], capture_output=True, timeout=120)


def start() -> RootlessDaemon:
    entry = setup_user()
    # A runtime folder per test session below the user's: two sessions never share RootlessKit's state or socket.
    runtime = Path(f"/run/user/{entry.pw_uid}/ed-{os.getpid()}")
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.chown(runtime, entry.pw_uid, entry.pw_gid)
    data = Path(entry.pw_dir) / f"ed-docker-{os.getpid()}"
    log = Path(entry.pw_dir) / f"ed-dockerd-{os.getpid()}.log"
    sock = runtime / "docker.sock"
    sock.unlink(missing_ok=True)
    env = {"HOME": entry.pw_dir, "USER": USER, "LOGNAME": USER, "XDG_RUNTIME_DIR": str(runtime),
           "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    with open(log, "wb") as handle:
        os.chown(log, entry.pw_uid, entry.pw_gid)
        process = subprocess.Popen(
            [str(SCRIPT), "--storage-driver", "vfs", "--data-root", str(data)], stdout=handle,
            stderr=subprocess.STDOUT, env=env, cwd=entry.pw_dir, user=entry.pw_uid, group=entry.pw_gid,
            extra_groups=[], start_new_session=True)
    daemon = RootlessDaemon(f"unix://{sock}", data, process, log, runtime)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"rootless dockerd exited {process.returncode}: {tail}")
        if sock.exists():
            try:
                if daemon.docker("version", "--format", "{{.Server.Version}}", timeout=10).returncode == 0:
                    return daemon
            except subprocess.TimeoutExpired:
                pass
        time.sleep(0.3)
    daemon.stop()
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"rootless dockerd did not answer within {START_TIMEOUT}s: {tail}")
