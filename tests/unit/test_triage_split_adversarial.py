"""Adversarial inputs for the split scan (triage/split.py): each test here is an input or situation where a split
scan once gave something other than one pass, or left a child behind, written before its fix."""

from __future__ import annotations

import os
import random
from pathlib import Path

import psutil
import pytest

from earthly_doctor.triage import scan_chunks, split
from tests.unit.test_triage_split import FAILURE, SIGS, in_parts, jenkins_log, key, one_pass

CONTEXT_LINE, FAILED_PULL = FAILURE.split("\n")


@pytest.fixture(autouse=True)
def _no_child_left():
    yield
    assert psutil.Process().children() == [], "a scan left a child process behind"


@pytest.mark.parametrize("length", [split.LOOKBACK - 100, split.LOOKBACK + 10, 3 * split.LOOKBACK])
def test_a_context_line_longer_than_lookback_just_before_the_cut(length):
    """The `pull ping error` line that gives proxy-unreachable its context and `errors` field is one long line (a
    daemon message Earthly quoted whole) ending right before the cut: one pass reads its last segment as the line
    before; the part after the cut must too, though no line start lies within LOOKBACK before it."""
    data = ("+build | --> RUN make\n" + "x" * length + " " + CONTEXT_LINE + "\n" + FAILED_PULL + "\n").encode()
    cut = data.index(b"\t* command failed")
    want = one_pass(data)
    assert want.first("proxy-unreachable").fields.get("errors") == "1"
    got, placed = in_parts(data, [cut])
    assert placed == [True]
    assert key(got) == key(want)
    # One pass read in chunks (a 4 MiB read ending there) keeps what the part is given: the same lines before.
    assert key(scan_chunks([data[:cut], data[cut:]], SIGS)) == key(want)


@pytest.fixture
def big_log(tmp_path) -> Path:
    path = tmp_path / "build.log"
    path.write_bytes(b"".join(jenkins_log(random.Random(2), 3000) for _ in range(4)))
    return path


@pytest.mark.parametrize("error", [BlockingIOError(11, "Resource temporarily unavailable"), KeyboardInterrupt()],
                         ids=["EAGAIN", "Ctrl-C"])
def test_a_fork_that_fails_after_the_first_leaves_no_child_and_no_traceback(big_log, error, monkeypatch):
    """`ulimit -u` reached (fork raises EAGAIN) or Ctrl-C while the second child is being started: the first child
    is ended and reaped, not left blocked on its pipe; a failed fork falls back to one pass (no OSError out of the
    scan), while Ctrl-C still stops the scan."""
    monkeypatch.setattr(split, "_forkable", lambda: True)
    real_fork, calls = os.fork, []

    def fork() -> int:
        calls.append(1)
        if len(calls) == 2:
            raise error
        return real_fork()

    monkeypatch.setattr(split.os, "fork", fork)
    if isinstance(error, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            split.scan_split(str(big_log), SIGS, parts=3)
    else:
        got = split.scan_split(str(big_log), SIGS, parts=3)
        assert got is None or key(got) == key(one_pass(big_log.read_bytes()))
    assert len(calls) == 2
