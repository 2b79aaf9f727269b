"""Adversarial inputs for the split scan (triage/split.py) against its contract: exactly the one-pass result, and a
failing child or a Ctrl-C costs speed, never the result, a hang, a traceback or a leftover process. Most tests here
were written, failing, before the fix they name; those whose docstring says "(held)" were tried and already held."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earthly_doctor.triage import scan_chunks, split
from earthly_doctor.triage.scanner import HALF
from tests.unit.test_triage_finders import checked_by
from tests.unit.test_triage_split import (  # noqa: F401 -- _no_child_left: its autouse check runs here too
    FAILURE, SIGS, _no_child_left, in_parts, jenkins_log, key, line_starts, one_pass)

CONTEXT_LINE, FAILED_PULL = FAILURE.split("\n")
REFUSED_5432 = "dial tcp 127.0.0.1:5432: connect: connection refused"


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
    path.write_bytes(jenkins_log(random.Random(2), 12_000))
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


STAMP = "[2024-01-22T23:20:55.000Z] "
# Text copied from Jenkins' HTML console starts lines with the local time (`12:34:56  `), which cleaning drops at a
# line start; behind a Timestamper prefix it stays (only one prefix is dropped), so the two lines read differently.
LOCAL_TIME_ERROR = "12:34:56  Error: boom"


def test_a_remembered_verdict_never_stands_for_a_line_that_reads_differently():
    """A line's verdict is remembered by its text without a Timestamper prefix. `[stamp] 12:34:56  Error: boom`
    matches nothing (the local time stays in front of `Error:`); `12:34:56  Error: boom` is build-failed. One
    pass took the second for a copy of the first and lost the match, which the part after a cut (knowing no verdict
    yet) found."""
    data = f"{STAMP}{LOCAL_TIME_ERROR}\n+build | --> RUN make\n{LOCAL_TIME_ERROR}\n".encode()
    want = one_pass(data)
    assert want.counts["build-failed"] == 1, "the line matches when it is read"
    got, placed = in_parts(data, [data.index(b"+build")])
    assert placed == [True]
    assert key(got) == key(want)


def test_a_remembered_verdict_never_hides_a_node_change():
    """A progress redraw `wait\\r[stamp] Running on registry-proxy in /ws` is not a line start, so its prefix stays and
    it is no `Running on` line; its verdict (no signature) was then reused for the real `[stamp] Running on
    registry-proxy …` line later, which was never read as a node change: the refusal after it had the old node in
    one pass and the new one in a part."""
    data = ("[Pipeline] node\nRunning on agent-1 in /ws\n"
            f"wait\r{STAMP}Running on registry-proxy in /ws\n+build | --> RUN make\n"
            f"{STAMP}Running on registry-proxy in /ws\n   +integration | {REFUSED_5432}\n").encode()
    want = one_pass(data)
    assert want.first("loopback-refused-other").node == "registry-proxy"
    got, placed = in_parts(data, [data.index(b"+build")])
    assert placed == [True]
    assert key(got) == key(want)


@pytest.mark.parametrize("path", ["loop", "numpy"])
def test_a_copy_of_a_wait_loop_line_is_only_counted_when_it_reads_the_same(path):
    """Past `keep`, a copy of a remembered line (with or without a Timestamper prefix) is counted without being read.
    `12:34:56  Error: boom` is build-failed, `[stamp] 12:34:56  Error: boom` is not: counting the second as a copy of
    the first gave one pass a count the part after a cut (which reads it) did not."""
    data = f"{LOCAL_TIME_ERROR}\n+build | --> RUN make\n{STAMP}{LOCAL_TIME_ERROR}\n".encode() * 3
    with checked_by(path):
        want = one_pass(data, keep=1)
        got, placed = in_parts(data, [data.index(b"+build")], keep=1)
    assert want.counts["build-failed"] == 3, "only the unprefixed lines are build-failed"
    assert all(placed)
    assert key(got) == key(want)


def test_anchor_hits_inside_a_segment_read_past_a_long_line_s_forced_scan():
    """A line longer than a whole 4 MiB read (a minified bundle, a base64 blob) is scanned without waiting for its
    end, up to HALF bytes before the read's end; a refusal just before that point is read with HALF bytes after it,
    past the point. The next scan started after that segment, so a refusal inside it was never counted in
    `anchor_hits`: where the reads end (from the file's start in one pass, from the cut in a part) changed the
    count."""
    read = 4 << 20  # feed_stream's read size: a part's reads end here after the cut
    line = bytearray(b"y" * (read + 200_000))
    refused = REFUSED_5432.encode()
    for at in (read - HALF - 100, read - HALF + 200):  # the second inside the first's segment
        line[at : at + len(refused)] = refused
    data = b"start\n" + bytes(line) + b"\n"
    cut = len(b"start\n")
    want = one_pass(data)
    assert want.anchor_hits["connect: connection refused"] == 2
    got, placed = in_parts(data, [cut])
    assert placed == [True]
    assert key(got) == key(want)
    assert key(scan_chunks([data[:cut], data[cut : cut + read], data[cut + read :]], SIGS)) == key(want)


def test_ctrl_c_mid_scan_ends_every_child(big_log, monkeypatch):
    """A real SIGINT to this process while the parts are taken in: KeyboardInterrupt comes out of the scan (the
    CLI's handler reports it) and no child is left running or unreaped (held)."""
    monkeypatch.setattr(split, "_forkable", lambda: True)
    real_absorb = split.Scanner.absorb

    def absorb_then_interrupt(self, part):
        os.kill(os.getpid(), signal.SIGINT)
        return real_absorb(self, part)

    monkeypatch.setattr(split.Scanner, "absorb", absorb_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        split.scan_split(str(big_log), SIGS, parts=4)


# Lines that need care at a cut: the context pair, the continuation of proxy-pull-other-error, the veto block of
# docker-unreachable, stages, new- and old-style branches, node changes, redraws, invalid UTF-8, and lines around
# HALF and LOOKBACK long; each may get a Timestamper prefix, a ConsoleNote, colour, a redraw before or a CR after.
OTHER_PULL = ("\t* command failed: docker pull 127.0.0.1:42737/sess-q1w2e3r4t5y6u7i8o9p0asdfg/pullping:img-0: exit "
              "status 1: img-0: Pulling from sess-q1w2e3r4t5y6u7i8o9p0asdfg/pullping")
NOTE = "\x1b[8mha:////4LsLbVJ7Hs5FyHEk+1Q3dGqxAAAAlx+LCAAAAAAAAP9b85aBtbiIQTGjNKU4P08=\x1b[0m"
PIECES = [
    "+build | --> RUN make", f"   +integration | {REFUSED_5432}", CONTEXT_LINE, FAILED_PULL, OTHER_PULL,
    "3f4e5d6c7b8a: Pulling fs layer", "unexpected EOF: exit status 1",
    "auto frontend initialization failed due to failed to autodetect a supported frontend: 2 errors occurred:",
    "ERROR: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    "[Pipeline] { (Build)", "[Pipeline] { (Test)", "[Pipeline] // stage", "[Pipeline] parallel",
    "[Pipeline] { (Branch: one)", "[Pipeline] { (Branch: two)", "[Pipeline] // parallel",
    "[Pipeline] [B1] { (Branch: B1)", "[B1] +image | --> SAVE IMAGE", "[B1] " + FAILED_PULL, "[Pipeline] [B1] }",
    "Running on agent-1 in /ws", "Running on agent-2 in /ws", "[Pipeline] // node", "Error: exit code 1",
    LOCAL_TIME_ERROR, "registry-proxy | started", "", "Downloading 10%\rDownloading 50%\r" + FAILED_PULL,
    "\udcff\udcfe not UTF-8 " + REFUSED_5432,
    *("z" * n for n in (HALF - 30, HALF + 30, 2 * HALF + 5, split.LOOKBACK - 60, split.LOOKBACK + 60)),
]
DRESS = [lambda s: s, lambda s: STAMP + s, lambda s: NOTE + s, lambda s: s + "\r", lambda s: "\x1b[31m" + s + "\x1b[0m",
         lambda s: "progress\r" + s, lambda s: s + "\r"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(DRESS)), min_size=2, max_size=40),
       last_newline=st.booleans(), keep=st.sampled_from([1, 2, 50]), data=st.data())
def test_hostile_lines_cut_anywhere_give_the_one_pass_result(lines, last_newline, keep, data):
    log = ("\n".join(dress(piece) for piece, dress in lines) + ("\n" if last_newline else ""))
    raw = log.encode("utf-8", "surrogateescape")
    starts = line_starts(raw)
    if not starts:
        return
    cuts = sorted(data.draw(st.sets(st.sampled_from(starts), min_size=1, max_size=3)))
    want = key(one_pass(raw, keep=keep))
    got, placed = in_parts(raw, cuts, keep=keep)
    assert key(got) == want
    assert all(placed) or b"[Pipeline] [" in raw


def test_a_continuation_still_open_when_the_log_ends_after_the_cut_is_settled_not_rescanned():
    """The wrapped `docker pull` output of proxy-pull-other-error may run to the log's end without its closing
    line: one pass keeps what it has at the end, so the part before the cut, reading to that end, must too, not
    refuse the parts after it (which then are all scanned again in one process)."""
    data = f"{OTHER_PULL}\n+build | --> RUN make".encode()
    got, placed = in_parts(data, [data.index(b"+build")])
    assert key(got) == key(one_pass(data))
    assert placed == [True]


@pytest.mark.parametrize("keep_fraction", [0.6, 0.2])
def test_a_log_cut_short_after_its_parts_were_planned(big_log, keep_fraction, monkeypatch):
    """The log is truncated after its size was read and its cuts placed (a job's log rewritten while triaged):
    the part that ends past the new end fails, and the scan gives one pass over what is left, with no traceback,
    whether the cut lands in a child's part (0.6) or in this process's own (0.2) (held)."""
    monkeypatch.setattr(split, "_forkable", lambda: True)
    real_fork = split._fork
    size = int(big_log.stat().st_size * keep_fraction)

    def truncate_then_fork(*a):
        if big_log.stat().st_size > size:
            os.truncate(big_log, size)
        return real_fork(*a)

    monkeypatch.setattr(split, "_fork", truncate_then_fork)
    got = split.scan_split(str(big_log), SIGS, parts=3)
    want = key(one_pass(big_log.read_bytes()))
    assert got is None or key(got) == want


@pytest.fixture(params=["alone", "beside an idle scan helper thread"])
def other_thread(request):
    """The main thread alone, or with the idle helper thread an earlier one-pass scan leaves (split allows it): the
    kernel may hand the process's SIGINT to that thread while this one blocks it."""
    if request.param == "alone":
        yield
        return
    import threading

    done = threading.Event()
    helper = threading.Thread(target=done.wait, name="triage-find-idle", daemon=True)
    helper.start()
    yield
    done.set()
    helper.join(timeout=5)


def test_ctrl_c_while_the_children_are_being_ended_still_ends_them_all(big_log, monkeypatch, other_thread):
    """A second Ctrl-C (an impatient user) lands while the children of a failed part are being killed and reaped:
    every child is still reaped, and the interrupt comes out after, however many threads the process has."""
    monkeypatch.setattr(split, "_forkable", lambda: True)
    monkeypatch.setattr(split, "scan_part", lambda *_a: "not a part")  # the first child's result is refused
    real_kill = os.kill

    def kill_then_interrupt(pid: int, sig: int) -> None:
        real_kill(pid, sig)
        if pid != os.getpid():
            real_kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(split.os, "kill", kill_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        split.scan_split(str(big_log), SIGS, parts=4)
