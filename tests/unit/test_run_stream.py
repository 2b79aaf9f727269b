"""The child runner behind `run`: bytes pass through exactly and live, exit codes and signals pass through.

The children are small Python scripts; output goes to files so the exact bytes can be compared.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from earthly_doctor.stream import run_streaming


def script(tmp_path: Path, name: str, body: str) -> list[str]:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


class Sink:
    """Two files standing in for our stdout and stderr."""

    def __init__(self, tmp_path: Path) -> None:
        self.out_path, self.err_path = tmp_path / "out", tmp_path / "err"
        self.out = os.open(self.out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self.err = os.open(self.err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)

    def close(self) -> tuple[bytes, bytes]:
        os.close(self.out)
        os.close(self.err)
        return self.out_path.read_bytes(), self.err_path.read_bytes()


@pytest.fixture
def sink(tmp_path):
    return Sink(tmp_path)


def test_bytes_pass_through_unchanged_on_pipes(tmp_path, sink):
    payload_out = b"plain\n\x1b[31mred\x1b[0m\r\n100%\rprogress\xff\xfe not utf-8\n" + bytes(range(256)) + b"no newline at end"
    payload_err = b"Error: \x1b[1mbold\x1b[0m\n\xc3\x28 invalid\n"
    argv = script(tmp_path, "child", f"""
        import sys
        sys.stdout.buffer.write({payload_out!r}); sys.stdout.flush()
        sys.stderr.buffer.write({payload_err!r}); sys.stderr.flush()
    """)
    seen = {"stdout": b"", "stderr": b""}

    def watch(stream, data):
        seen[stream] += data

    result = run_streaming(argv, dict(os.environ), watch, out_fd=sink.out, err_fd=sink.err, use_pty=False)
    out, err = sink.close()
    assert result.code == 0 and result.started
    assert out == payload_out and err == payload_err
    assert seen == {"stdout": payload_out, "stderr": payload_err}


def test_a_pty_makes_the_child_see_a_terminal_and_keeps_its_colours(tmp_path, sink):
    argv = script(tmp_path, "child", """
        import os, sys
        print("stdout-tty=%s" % os.isatty(1), "\\x1b[32mgreen\\x1b[0m", flush=True)
        print("stderr-tty=%s" % os.isatty(2), file=sys.stderr, flush=True)
    """)
    result = run_streaming(argv, dict(os.environ), None, out_fd=sink.out, err_fd=sink.err, use_pty=True)
    out, err = sink.close()
    assert result.code == 0
    assert b"stdout-tty=True" in out and b"\x1b[32mgreen\x1b[0m" in out
    # Our stderr is a file here, so the child's stderr stays a separate pipe.
    assert err == b"stderr-tty=False\n"


def test_output_is_live_not_held_until_exit(tmp_path, sink):
    flag = tmp_path / "seen"
    argv = script(tmp_path, "child", f"""
        import os, sys, time
        print("first line", flush=True)
        deadline = time.monotonic() + 10
        while not os.path.exists({str(flag)!r}):
            if time.monotonic() > deadline:
                sys.exit(3)  # the runner held the line back: nobody saw it while we ran
            time.sleep(0.02)
        print("second line", flush=True)
    """)

    def watch(stream, data):
        if b"first line" in data:
            flag.touch()

    result = run_streaming(argv, dict(os.environ), watch, out_fd=sink.out, err_fd=sink.err, use_pty=False)
    out, _ = sink.close()
    assert result.code == 0, out
    assert out == b"first line\nsecond line\n"


@pytest.mark.parametrize("code", [0, 1, 2, 7, 42, 255])
def test_exit_code_passes_through(tmp_path, sink, code):
    argv = script(tmp_path, "child", f"import sys; sys.exit({code})")
    assert run_streaming(argv, dict(os.environ), None, out_fd=sink.out, err_fd=sink.err, use_pty=False).code == code


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_a_child_killed_by_a_signal_gives_128_plus_the_signal(tmp_path, sink, sig):
    # Python turns SIGTERM's default into a clean exit only with a handler; SIG_DFL keeps the kernel's default.
    reset = "" if sig == signal.SIGKILL else f"signal.signal({int(sig)}, signal.SIG_DFL); "
    argv = script(tmp_path, "child", f"import os, signal; {reset}os.kill(os.getpid(), {int(sig)})")
    result = run_streaming(argv, dict(os.environ), None, out_fd=sink.out, err_fd=sink.err, use_pty=False)
    assert result.code == 128 + int(sig)
    assert result.signal == int(sig)


def test_a_missing_program_is_127_and_not_a_crash(sink):
    result = run_streaming(["/nonexistent/earthly", "+x"], dict(os.environ), None, out_fd=sink.out, err_fd=sink.err)
    assert result.code == 127 and not result.started
    assert "/nonexistent/earthly" in result.error


def test_a_program_that_is_not_executable_is_126(tmp_path, sink):
    path = tmp_path / "earthly"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o644)
    result = run_streaming([str(path)], dict(os.environ), None, out_fd=sink.out, err_fd=sink.err)
    assert result.code == 126 and not result.started


def _signal_us_when_ready(ready: Path, sig: int) -> threading.Thread:
    def fire() -> None:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), sig)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_our_signals_reach_the_child_and_its_process_group(tmp_path, sink, sig):
    ready, grandchild_pid = tmp_path / "ready", tmp_path / "grandchild.pid"
    argv = script(tmp_path, "child", f"""
        import os, signal, subprocess, sys, time
        grandchild = subprocess.Popen(["sleep", "30"])
        open({str(grandchild_pid)!r}, "w").write(str(grandchild.pid))
        def handler(signum, frame):
            print("child got", signum, flush=True)
            grandchild.wait(timeout=5)  # the grandchild got it too: it is in our process group
            sys.exit(42)
        signal.signal({int(sig)}, handler)
        time.sleep(0.2)  # let the runner install its forwarding first
        open({str(ready)!r}, "w").close()
        time.sleep(20)
        sys.exit(9)
    """)
    previous = signal.getsignal(sig)
    thread = _signal_us_when_ready(ready, sig)
    began = time.monotonic()
    result = run_streaming(argv, dict(os.environ), None, out_fd=sink.out, err_fd=sink.err, use_pty=False)
    thread.join(timeout=5)
    out, _ = sink.close()
    assert time.monotonic() - began < 10
    assert result.code == 42, out
    assert result.forwarded == [int(sig)]
    assert f"child got {int(sig)}".encode() in out
    assert signal.getsignal(sig) is previous  # our own handler is back once the child is done
    with pytest.raises(ProcessLookupError):
        os.kill(int(grandchild_pid.read_text()), 0)


def test_a_child_that_dies_of_the_forwarded_sigterm_gives_143(tmp_path, sink):
    ready = tmp_path / "ready"
    argv = script(tmp_path, "child", f"""
        import time
        time.sleep(0.2)
        open({str(ready)!r}, "w").close()
        time.sleep(20)
    """)
    thread = _signal_us_when_ready(ready, signal.SIGTERM)
    result = run_streaming(argv, dict(os.environ), None, out_fd=sink.out, err_fd=sink.err, use_pty=False)
    thread.join(timeout=5)
    assert result.code == 143 and result.signal == signal.SIGTERM


def test_a_grandchild_holding_the_pipe_does_not_hold_us(tmp_path, sink):
    pid_file = tmp_path / "bg.pid"
    argv = script(tmp_path, "child", f"""
        import subprocess
        bg = subprocess.Popen(["sleep", "30"])  # inherits our stdout: the pipe stays open after we exit
        open({str(pid_file)!r}, "w").write(str(bg.pid))
        print("done", flush=True)
    """)
    began = time.monotonic()
    try:
        result = run_streaming(argv, dict(os.environ), None, out_fd=sink.out, err_fd=sink.err, use_pty=False,
                               drain_after_exit=0.3)
        elapsed = time.monotonic() - began
    finally:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    out, _ = sink.close()
    assert result.code == 0 and out == b"done\n"
    assert elapsed < 5


def test_stdin_passes_through(tmp_path, sink):
    argv = script(tmp_path, "child", "import sys; sys.stdout.write(sys.stdin.read().upper())")
    read, write = os.pipe()
    os.write(write, b"hello from stdin\n")
    os.close(write)
    saved = os.dup(0)
    os.dup2(read, 0)
    try:
        result = run_streaming(argv, dict(os.environ), None, out_fd=sink.out, err_fd=sink.err, use_pty=False)
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(read)
    out, _ = sink.close()
    assert result.code == 0 and out == b"HELLO FROM STDIN\n"
