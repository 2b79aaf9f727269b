"""Run a child (the build) with its output passed through byte for byte, live, while a callback watches it.

- stdout is a terminal → the child writes to a fresh pseudo-terminal (so it keeps its colours and progress bars,
  sized like ours); otherwise plain pipes. stdout and stderr stay apart unless both are terminals.
- stdin is inherited, untouched.
- The child leads a session of its own, so a Ctrl-C at the terminal reaches only us; SIGINT, SIGTERM, SIGHUP and
  SIGQUIT are forwarded to its whole process group (the docker CLI it starts included).
- The exit status is the child's, or 128 + N when a signal N killed it (the shell's convention).
"""

from __future__ import annotations

import errno
import fcntl
import os
import selectors
import signal
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
READ_SIZE = 64 * 1024
DRAIN_AFTER_EXIT = 2.0  # seconds to keep reading after the child exits (a grandchild may hold the pipe open)

Watch = Callable[[str, bytes], None]  # (stream name: "stdout" | "stderr", bytes exactly as read)


@dataclass
class ChildExit:
    code: int  # the status to exit with: the child's, or 128 + signal
    signal: int | None = None  # the signal that killed the child, if one did
    forwarded: list[int] = field(default_factory=list)  # signals we passed on while it ran
    started: bool = True  # False: the program could not be started (code 126/127)
    error: str | None = None
    duration_ms: int = 0


def exit_code(returncode: int) -> tuple[int, int | None]:
    if returncode < 0:
        return 128 + (-returncode), -returncode
    return returncode, None


def _copy_winsize(src_fd: int, dst_fd: int) -> None:
    try:
        size = fcntl.ioctl(src_fd, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst_fd, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> bool:
    """Write everything; False once the reader is gone (we keep draining the child so it never blocks)."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            time.sleep(0.01)
            continue
        except (BrokenPipeError, OSError):
            return False
        view = view[n:]
    return True


def run_streaming(  # noqa: C901, PLR0912, PLR0915 -- grandfathered; split when next changed
    argv: Sequence[str],
    env: Mapping[str, str],
    watch: Watch | None = None,
    *,
    out_fd: int = 1,
    err_fd: int = 2,
    use_pty: bool | None = None,
    cwd: str | None = None,
    drain_after_exit: float = DRAIN_AFTER_EXIT,
) -> ChildExit:
    began = time.monotonic()
    if use_pty is None:
        use_pty = os.isatty(out_fd)
    master = slave = None
    if use_pty:
        import pty

        master, slave = pty.openpty()
        _copy_winsize(out_fd, slave)
        stdout = slave
        stderr = slave if os.isatty(err_fd) else subprocess.PIPE
    else:
        stdout = stderr = subprocess.PIPE
    try:
        proc = subprocess.Popen(
            list(argv), env=dict(env), stdout=stdout, stderr=stderr, cwd=cwd, start_new_session=True, close_fds=True
        )
    except (FileNotFoundError, PermissionError, OSError) as exc:
        for fd in (master, slave):
            if fd is not None:
                os.close(fd)
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        return ChildExit(code, started=False, error=f"{argv[0]}: {exc.strerror or exc}")
    if slave is not None:
        os.close(slave)  # only the child holds the terminal's other end now, so we see EOF/EIO when it is done

    sources: dict[int, tuple[str, int]] = {}
    if master is not None:
        sources[master] = ("stdout", out_fd)
    elif proc.stdout is not None:
        sources[proc.stdout.fileno()] = ("stdout", out_fd)
    if proc.stderr is not None:
        sources[proc.stderr.fileno()] = ("stderr", err_fd)

    forwarded: list[int] = []
    restore = _install_forwarding(proc, forwarded, master, out_fd)
    alive = dict.fromkeys({out_fd, err_fd}, True)
    try:
        with selectors.DefaultSelector() as sel:
            for fd in sources:
                sel.register(fd, selectors.EVENT_READ)
            exited_at: float | None = None
            while sources:
                if exited_at is None and proc.poll() is not None:
                    exited_at = time.monotonic()
                if exited_at is not None and time.monotonic() - exited_at > drain_after_exit:
                    break
                for key, _ in sel.select(timeout=0.1):
                    fd = key.fd
                    try:
                        data = os.read(fd, READ_SIZE)
                    except OSError as exc:
                        if exc.errno not in (errno.EIO, errno.EBADF):  # EIO: the pty's child side is closed
                            raise
                        data = b""
                    name, target = sources[fd]
                    if not data:
                        sel.unregister(fd)
                        del sources[fd]
                        continue
                    if alive[target]:
                        alive[target] = _write_all(target, data)
                    if watch is not None:
                        watch(name, data)
        # Bounded: the child has exited or closed its output; a child that closed its output but still runs is
        # the build itself, and we wait for it like a shell would.
        proc.wait()
    finally:
        restore()
        if master is not None:
            os.close(master)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    code, sig = exit_code(proc.returncode)
    return ChildExit(code, sig, forwarded, duration_ms=int((time.monotonic() - began) * 1000))


def _install_forwarding(proc: subprocess.Popen[bytes], forwarded: list[int], pty_master: int | None, out_fd: int) -> Callable[[], None]:
    """Pass our signals to the child's process group while it runs; returns the function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signal handlers can only be set from the main thread (tests drive us from others)

    def forward(signum: int, _frame: object) -> None:
        forwarded.append(signum)
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    if pty_master is not None:
        previous[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, lambda *_: _copy_winsize(out_fd, pty_master))

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
