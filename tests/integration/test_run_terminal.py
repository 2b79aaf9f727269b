"""`run` on a real terminal: the build gets a pseudo-terminal of the same size, so it keeps colours and progress
output, and its bytes arrive unchanged; with pipes it gets pipes."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time

CHILD = (
    "import os, sys, fcntl, termios, struct;"
    "rows, cols = struct.unpack('hh', fcntl.ioctl(1, termios.TIOCGWINSZ, b'0000'))[:2] if os.isatty(1) else (0, 0);"
    "sys.stdout.write('tty=%s size=%dx%d \\x1b[31mred\\x1b[0m\\n' % (os.isatty(1), rows, cols));"
    "sys.stdout.flush(); sys.exit(7)"
)


def read_all(fd: int, proc: subprocess.Popen, timeout: float = 30) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    return data


def test_on_a_terminal_the_build_gets_one_too(tmp_path):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("hhhh", 33, 111, 0, 0))
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "earthly_doctor", "run", "--no-preflight", "--", sys.executable, "-c", CHILD],
        stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=tmp_path,
    )
    os.close(slave)
    try:
        out = read_all(master, proc)
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        proc.stderr.close()
    assert code == 7
    assert b"tty=True size=33x111 \x1b[31mred\x1b[0m" in out


def test_with_pipes_the_build_gets_pipes(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "earthly_doctor", "run", "--no-preflight", "--", sys.executable, "-c", CHILD],
        capture_output=True, env={**os.environ, "HOME": str(tmp_path)}, cwd=tmp_path, timeout=30,
    )
    assert result.returncode == 7
    assert result.stdout.startswith(b"tty=False")
    assert b"\x1b[31mred\x1b[0m\n" in result.stdout
