"""A real Podman service (Debian's podman 4.3) with its Docker-compatible API on a private unix socket.

Everything it writes stays under one temp folder: storage (--root, vfs), run root, tmp dir, and the registries.conf
it reads (CONTAINERS_REGISTRIES_CONF), so tests can edit that file and restart the service without touching
/etc/containers or another Podman on the machine. `user` runs it rootless as that account instead.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 30.0


def why_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root to start a private Podman service"
    if not shutil.which("podman"):
        return "podman not found (apt-get install podman)"
    return None


@dataclass
class PodmanService:
    root: Path
    registries: Path  # the registries.conf this service reads
    process: subprocess.Popen | None = None
    user: str | None = None

    @property
    def socket(self) -> Path:
        return self.root / "podman.sock"

    @property
    def runtime(self) -> Path:
        """Rootless only: this service's own XDG_RUNTIME_DIR (Podman keeps its pause process state there)."""
        return self.root / "xdg"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> PodmanService:
        self.socket.unlink(missing_ok=True)
        argv = ["podman", "--root", str(self.root / "storage"), "--runroot", str(self.root / "run"),
                "--tmpdir", str(self.root / "tmp"), "--storage-driver", "vfs",
                "system", "service", "--time=0", self.host]
        env = {**os.environ, "CONTAINERS_REGISTRIES_CONF": str(self.registries)}
        kwargs: dict = {}
        if self.user:
            entry = pwd.getpwnam(self.user)
            env.update(HOME=entry.pw_dir, USER=self.user, XDG_RUNTIME_DIR=str(self.runtime))
            kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        log = open(self.root / "podman.log", "ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                        **kwargs)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"podman service exited {self.process.returncode}: {self.log_tail()}")
            if self.socket.exists():
                probe = subprocess.run(["docker", "-H", self.host, "version", "--format", "{{.Server.Version}}"],
                                       capture_output=True, timeout=10)
                if probe.returncode == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"podman service did not answer within {START_TIMEOUT}s: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return (self.root / "podman.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        # The whole session: rootless Podman re-executes itself inside its user namespace.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        # Rootless Podman leaves a daemonised "pause" process holding its namespaces; its pid file is below our root.
        for pidfile in self.root.glob("**/pause.pid"):
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)

    def restart(self) -> None:
        """Podman reads registries.conf when it starts."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        # vfs layers and the run root may hold mounts of their own.
        prefix = str(self.root).rstrip("/") + "/"
        try:
            points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        except OSError:
            points = []
        for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start(root: Path, registries_text: str = "", user: str | None = None) -> PodmanService:
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("storage", "run", "tmp", "xdg"):
        (root / sub).mkdir(exist_ok=True)
    registries = root / "registries.conf"
    registries.write_text(registries_text)
    if user:
        entry = pwd.getpwnam(user)
        for path in (root, *(root / s for s in ("storage", "run", "tmp", "xdg")), registries):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(root / "xdg", 0o700)
    return PodmanService(root, registries, user=user).start()
