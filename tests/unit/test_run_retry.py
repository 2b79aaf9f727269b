"""`run`'s decisions with fake children: when it retries (once, only for the unreachable-proxy failure, only with
the proxy on), which variable it sets (EARTHLY_ or EARTH_), what it says, and which exit code it ends with."""

from __future__ import annotations

import functools
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from earthly_doctor.commands.run import RunRequest, run
from earthly_doctor.environment import Environment
from earthly_doctor.errors import UsageError
from earthly_doctor.stream import run_streaming

ERROR_PAIR = (
    "Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    "\t* command failed: docker pull 127.0.0.1:{port}/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
    'Error response from daemon: Get "http://127.0.0.1:{port}/v2/": dial tcp 127.0.0.1:{port}: connect: '
    "connection refused: exit status 1\n"
)

# A stand-in build: fails with Earthly's error unless the proxy is disabled (FAKE_MODE changes what it does).
CHILD = textwrap.dedent(
    f"""\
    #!{sys.executable}
    import os, signal, sys
    name = "EARTH_DISABLE_REMOTE_REGISTRY_PROXY" if os.path.basename(sys.argv[0]) == "earth" else "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"
    mode = os.environ.get("FAKE_MODE", "proxy")
    attempt_file = os.environ["FAKE_ATTEMPTS"]
    with open(attempt_file, "a") as f:
        f.write(os.environ.get(name, "-") + "\\n")
    print("             +img | --> SAVE IMAGE x", flush=True)
    if mode == "other":
        print("Error: some other failure", file=sys.stderr); sys.exit(3)
    if mode == "interrupted":
        sys.stderr.write({ERROR_PAIR.format(port=41234)!r}); sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL); os.kill(os.getpid(), signal.SIGINT)
    if mode == "always" or os.environ.get(name) != "true":
        sys.stderr.write({ERROR_PAIR.format(port=41234)!r}); sys.exit(1)
    print("Image +img output as x", flush=True)
    """
)


@pytest.fixture
def child(tmp_path):
    def make(name: str = "earthly") -> Path:
        path = tmp_path / "bin" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(CHILD)
        path.chmod(0o755)
        return path

    return make


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.attempts_file = tmp_path / "attempts"
        self.lines: list[str] = []
        self.out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self.err = os.open(tmp_path / "err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)

    def run(self, argv, *, env=None, retry=True):
        base = {"PATH": os.environ["PATH"], "HOME": str(self.tmp_path), "FAKE_ATTEMPTS": str(self.attempts_file)}
        environment = Environment(env={**base, **(env or {})}, cwd=self.tmp_path)
        spawn = functools.partial(run_streaming, out_fd=self.out, err_fd=self.err, use_pty=False)
        request = RunRequest([str(a) for a in argv], retry=retry, preflight=False)
        return run(request, environment, self.lines.append, spawn=spawn, checks=[])

    @property
    def seen(self) -> list[str]:
        """The proxy variable as each attempt saw it ('-' when unset)."""
        return self.attempts_file.read_text().splitlines() if self.attempts_file.exists() else []

    def output(self) -> tuple[bytes, bytes]:
        return (self.tmp_path / "out").read_bytes(), (self.tmp_path / "err").read_bytes()


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path)


def test_the_signature_gets_one_retry_with_the_proxy_disabled(h, child):
    result = h.run([child(), "+img"])
    assert result.exit_code == 0
    assert h.seen == ["-", "true"]
    assert [a.variables for a in result.attempts] == [{}, {"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true"}]
    assert result.attempts[0].signature["port"] == "41234"
    assert len(h.lines) == 2
    assert "127.0.0.1:41234" in h.lines[0] and "another loopback" in h.lines[0]
    assert h.lines[1] == "earthly-doctor: retrying once with EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true"
    out, err = h.output()
    assert err.count(b"pull ping error") == 1  # the child's output itself is untouched, our lines go via notify
    assert out.endswith(b"Image +img output as x\n")


def test_earthbuild_gets_the_earth_prefix(h, child):
    result = h.run([child("earth"), "+img"])
    assert result.exit_code == 0
    assert result.attempts[1].variables == {"EARTH_DISABLE_REMOTE_REGISTRY_PROXY": "true"}
    assert h.seen == ["-", "true"]


def test_never_more_than_one_retry(h, child):
    result = h.run([child(), "+img"], env={"FAKE_MODE": "always"})
    assert len(result.attempts) == 2
    assert result.exit_code == 1
    assert h.seen == ["-", "true"]


def test_no_retry_turns_it_off_but_still_explains(h, child):
    result = h.run([child(), "+img"], retry=False)
    assert len(result.attempts) == 1 and result.exit_code == 1
    assert "127.0.0.1:41234" in h.lines[0]
    assert "not retrying (--no-retry)" in h.lines[1] and "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true" in h.lines[1]


def test_other_failures_are_never_retried_and_keep_their_exit_code(h, child):
    result = h.run([child(), "+img"], env={"FAKE_MODE": "other"})
    assert len(result.attempts) == 1 and result.exit_code == 3
    assert h.lines == []


def test_an_interrupted_build_is_not_retried(h, child):
    result = h.run([child(), "+img"], env={"FAKE_MODE": "interrupted"})
    assert len(result.attempts) == 1
    assert result.exit_code == 128 + signal.SIGINT


@pytest.mark.parametrize("value", ["true", "1", "T", "TRUE"])
def test_no_retry_when_the_proxy_was_already_disabled(h, child, value):
    # The child ignores the setting here, to prove we do not retry what cannot help.
    result = h.run([child(), "+img"], env={"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": value, "FAKE_MODE": "always"})
    assert len(result.attempts) == 1 and result.exit_code == 1


def test_no_retry_when_the_flag_before_the_target_disabled_it(h, child):
    result = h.run([child(), "--disable-remote-registry-proxy", "+img"], env={"FAKE_MODE": "always"})
    assert len(result.attempts) == 1


def test_set_but_empty_is_still_on_so_the_retry_happens(h, child):
    result = h.run([child(), "+img"], env={"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": ""})
    assert result.exit_code == 0 and h.seen == ["", "true"]


def test_an_invalid_value_is_left_alone_with_a_warning(h, child):
    result = h.run([child(), "+img"], env={"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "yes", "FAKE_MODE": "always"})
    assert len(result.attempts) == 1
    assert h.seen == ["yes"]
    assert h.lines[0].startswith("earthly-doctor: warning:") and "'yes'" in h.lines[0]


def test_a_wrapper_command_gets_both_variables_on_retry(h, child, tmp_path):
    wrapper = tmp_path / "build.sh"
    wrapper.write_text(f"#!/bin/sh\nexec {child()} \"$@\"\n")
    wrapper.chmod(0o755)
    result = h.run([wrapper, "+img"])
    assert result.exit_code == 0
    assert result.attempts[1].variables == {
        "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true",
        "EARTH_DISABLE_REMOTE_REGISTRY_PROXY": "true",
    }


def test_a_missing_program_is_127_with_one_line(h):
    result = h.run(["/nonexistent/earthly", "+img"])
    assert result.exit_code == 127
    assert h.lines == ["earthly-doctor: error: /nonexistent/earthly: No such file or directory"]


def test_no_command_is_a_usage_error(h):
    with pytest.raises(UsageError):
        h.run([])
