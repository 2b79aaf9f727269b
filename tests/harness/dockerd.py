"""A real, private Docker daemon for tests (Debian's `docker.io`), and helpers to run containers on it.

The daemon gets its own socket, data root, exec root and pid file under a temp folder and `--storage-driver vfs`
(works on any filesystem). No registry is reachable here, so the one image is made with `docker import` from a
rootfs holding Debian's static busybox; containers that must run Python bind-mount the host's `/usr` and the
interpreter's prefix read-only, so the host's Python (with earthly-doctor installed) runs inside them.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import site
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE = "earthly-doctor-test:busybox"
START_TIMEOUT = 60.0
BUSYBOX = Path("/bin/busybox") if Path("/bin/busybox").exists() else Path("/usr/bin/busybox")


class DaemonUnavailable(Exception):
    """This machine cannot start a private dockerd (not root, or docker.io not installed)."""


def why_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root to start a private dockerd"
    for tool in ("dockerd", "containerd", "runc"):
        if not shutil.which(tool):
            return f"{tool} not found (apt-get install docker.io)"
    if not BUSYBOX.exists():
        return "busybox not found (apt-get install busybox-static)"
    return None


@dataclass
class Daemon:
    """A running dockerd; `host` is its unix:// URL. Use `client()` for a docker SDK client with a timeout."""

    host: str
    root: Path | None = None
    process: subprocess.Popen | None = None
    log: Path | None = None
    _clients: list = field(default_factory=list)

    @property
    def socket(self) -> str:
        return self.host.split("://", 1)[1]

    def client(self, timeout: float = 30.0):
        import docker

        c = docker.DockerClient(base_url=self.host, timeout=timeout)
        self._clients.append(c)
        return c

    def docker(self, *args: str, timeout: float = 60.0, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
        """The docker CLI against this daemon."""
        result = subprocess.run(
            ["docker", "-H", self.host, *args], capture_output=True, timeout=timeout, input=input
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
        return result

    def stop(self) -> None:
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        if self.process is None:
            return
        # Remove our containers first so no shim outlives the daemon.
        try:
            ids = self.docker("ps", "-aq", timeout=15, check=False).stdout.decode().split()
            if ids:
                self.docker("rm", "-f", *ids, timeout=60, check=False)
        except Exception:
            pass
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        if self.root is not None:
            unmount_below(self.root)
            shutil.rmtree(self.root, ignore_errors=True)


def unmount_below(root: Path) -> None:
    """dockerd leaves nsfs mounts (exec-root/netns/default) behind; lazily unmount everything under root."""
    prefix = str(root).rstrip("/") + "/"
    try:
        points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    except OSError:
        return
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=10)


def start_daemon(root: Path, extra_args: list[str] | None = None, env: dict | None = None, netns: str | None = None) -> Daemon:
    """Start dockerd with everything under `root`; wait (bounded) until it answers /_ping."""
    reason = why_unavailable()
    if reason:
        raise DaemonUnavailable(reason)
    root.mkdir(parents=True, exist_ok=True)
    sock = root / "docker.sock"
    log = root / "dockerd.log"
    cmd = [
        "dockerd",
        "--host", f"unix://{sock}",
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "docker.pid"),
        "--storage-driver", "vfs",
        *(extra_args or []),
    ]
    if netns:
        # nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroup mounts dockerd needs.
        cmd = ["nsenter", f"--net=/var/run/netns/{netns}", *cmd]
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            cmd, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, start_new_session=True
        )
    daemon = Daemon(f"unix://{sock}", root, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dockerd exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if sock.exists():
            try:
                r = subprocess.run(["docker", "-H", daemon.host, "version", "--format", "{{.Server.APIVersion}}"],
                                   capture_output=True, timeout=10)
            except subprocess.TimeoutExpired:
                continue  # a daemon still starting can hold the first request; the overall deadline bounds this
            if r.returncode == 0:
                return daemon
        time.sleep(0.2)
    daemon.stop()
    raise RuntimeError(f"dockerd did not answer within {START_TIMEOUT}s:\n{log.read_text()[-3000:]}")


def rootfs_tar() -> bytes:
    """A minimal rootfs: static busybox and the mount points a container needs, as an uncompressed tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)

        def add_link(name: str, target: str) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "work", "var", "var/run", "run"):
            add_dir(d, 0o1777 if d == "tmp" else 0o755)
        add_file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
        for applet in ("sh", "ls", "cat", "sleep", "wget", "nc", "env", "id", "true", "false", "echo", "ps"):
            add_link(f"bin/{applet}", "busybox")
        # Debian is merged-/usr: the host's dynamic loader and libraries live under /usr, mounted at run time.
        add_link("lib", "usr/lib")
        add_link("lib64", "usr/lib64")
        add_link("sbin", "usr/sbin")
        add_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n")
        add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
        add_file("etc/hosts", b"127.0.0.1 localhost\n")
    return buf.getvalue()


def import_image(daemon: Daemon, tag: str = IMAGE) -> str:
    daemon.docker("import", "-", tag, input=rootfs_tar(), timeout=120)
    return tag


def python_mounts() -> list[str]:
    """Read-only bind mounts that make the host's Python, its packages and this repo usable in a container."""
    paths = {"/usr", sys.prefix, sys.base_prefix, str(REPO_ROOT), *site.getsitepackages()}
    user_site = site.getusersitepackages()
    if isinstance(user_site, str) and os.path.isdir(user_site):
        paths.add(user_site)
    # Drop paths already covered by a parent in the set.
    chosen = sorted(p for p in paths if os.path.exists(p))
    kept: list[str] = []
    for p in chosen:
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(p)
    args: list[str] = []
    for p in kept:
        args += ["-v", f"{p}:{p}:ro"]
    return args


def container_path() -> str:
    return f"{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/bin"


def run_python_container(
    daemon: Daemon,
    argv: list[str],
    *,
    network: str | None = None,
    mount_socket: bool = True,
    user: str | None = None,
    env: dict[str, str] | None = None,
    extra: list[str] | None = None,
    name: str | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess:
    """`docker run --rm` of the host's Python in the busybox image; argv is run as `python3 <argv…>`."""
    args = ["run", "--rm", *python_mounts(), "-e", f"PATH={container_path()}", "-e", "NO_COLOR=1", "-e", "COLUMNS=100",
            "-w", "/tmp"]
    if name:
        args += ["--name", name]
    if network:
        args += ["--network", network]
    if mount_socket:
        args += ["-v", f"{daemon.socket}:/var/run/docker.sock"]
    if user:
        args += ["--user", user]
    for key, value in (env or {}).items():
        args += ["-e", f"{key}={value}"]
    args += [*(extra or []), IMAGE, sys.executable, *argv]
    return daemon.docker(*args, timeout=timeout, check=False)


FAKE_EARTHLY = Path(__file__).resolve().parent / "fake_earthly.py"


def install_fake_earthly(bin_dir: Path, name: str = "earthly") -> Path:
    """Put the stand-in on disk as `earthly` (or `earth`) so its process name is the real one's."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = bin_dir / name
    dotenv = FAKE_EARTHLY.parents[2] / "diagnose" / "dotenv.py"
    source = FAKE_EARTHLY.read_text()
    target.write_text(source.replace(
        'DOTENV_SOURCE = str(Path(__file__).resolve().parents[2] / "diagnose" / "dotenv.py")',
        f"DOTENV_SOURCE = {str(dotenv)!r}"))
    target.chmod(0o755)
    return target
