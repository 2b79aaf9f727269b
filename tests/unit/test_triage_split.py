"""A log scanned in parts (triage/split.py, part.py) gives exactly what one pass gives: matches with their line,
stage, node, timestamp, fields and context, counts, lines, bytes and anchor hits. Checked on every log of the
corpus cut at random line starts (in one process: the same stitching, without the forks), on the seams that need
care (a stage opened before the cut, `keep` reached across it, a continuation that reads past it, an old-style
branch opened before it), and with real forked children that succeed, fail, hang or send nonsense."""

from __future__ import annotations

import os
import pickle
import random
import signal
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earthly_doctor.triage import Scanner, load_signatures, scan_chunks
from earthly_doctor.triage import split
from earthly_doctor.triage.part import Part
from earthly_doctor.triage.signatures import parse_signature

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted([*(ROOT / "examples" / "logs").glob("*.log"), *(ROOT / "tests" / "fixtures" / "logs").rglob("*.log"),
                 *(ROOT / "tests" / "data").rglob("*.log")])
SIGS = load_signatures()
STAMP = "[2024-01-22T23:20:{:02d}.000Z] "
REFUSED = "dial tcp 127.0.0.1:35137: connect: connection refused"
# Earthly's unreachable-proxy failure as it prints it: two lines (research/earthly.md, issue 3736).
FAILURE = ("Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: "
           "1 error occurred:\n\t* command failed: docker pull "
           "127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
           'Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: '
           "connection refused: exit status 1")


def key(scanner: Scanner) -> tuple:
    matches = [(m.id, m.line, m.text, m.timestamp, m.stage, m.node, tuple(sorted(m.fields.items())), m.context)
               for m in scanner.matches]
    return matches, dict(scanner.counts), scanner.lines, scanner.bytes_seen, scanner.anchor_hits


def one_pass(data: bytes, sigs=SIGS, **kw) -> Scanner:
    return scan_chunks([data], sigs, **kw)


def line_starts(data: bytes) -> list[int]:
    return [i + 1 for i, b in enumerate(data) if b == 10 and i + 1 < len(data)]


def in_parts(data: bytes, cuts: list[int], sigs=SIGS, *, keep: int = 50) -> tuple[Scanner, list[bool]]:
    """The split scan's stitching in this process; also which parts were taken in (False: scanned again here)."""
    bounds = [*cuts, None]
    placed: list[bool] = []
    real_absorb = Scanner.absorb

    def absorb(self: Scanner, part: Part) -> bool:
        placed.append(real_absorb(self, part))
        return placed[-1]

    with tempfile.TemporaryFile() as f, pytest.MonkeyPatch.context() as m:
        f.write(data)
        f.flush()
        fd = f.fileno()
        m.setattr(Scanner, "absorb", absorb)
        m.setattr(Scanner, "__init__", _with_keep(keep))
        parts = (split.scan_part(fd, lo, hi, sigs) for lo, hi in zip(cuts, bounds[1:], strict=True))
        return split.stitch(fd, tuple(sigs), cuts, parts), placed


def _with_keep(keep: int):
    real_init = Scanner.__init__

    def init(self, *a, **kw):
        kw.setdefault("keep", keep)
        real_init(self, *a, **kw)

    return init


def jenkins_log(rng: random.Random, lines: int = 400) -> bytes:
    """A Pipeline log with stages, a node, Earthly output with targets, refusals in a wait loop and the failure."""
    out = ["Started by user admin", "[Pipeline] node", "Running on agent-7 in /home/jenkins/ws"]
    stage = 0
    for n in range(lines):
        roll = rng.random()
        stamp = STAMP.format(n % 60)
        if roll < 0.04:
            if stage:
                out.append(stamp + "[Pipeline] // stage")
            stage += 1
            out.append(stamp + f"[Pipeline] {{ (Stage {stage})")
        elif roll < 0.2:
            out.append(stamp + f"        +integration | {REFUSED}")
        elif roll < 0.22:
            out.extend(stamp + line for line in FAILURE.split("\n"))
        elif roll < 0.25:
            out.append(stamp + "Error: exit code 1")
        else:
            out.append(stamp + f"     +build | --> RUN make step-{n}")
    out.append("[Pipeline] // stage")
    out.append("Finished: FAILURE")
    return ("\n".join(out) + "\n").encode()


CUTTABLE = [p for p in CORPUS if line_starts(p.read_bytes())]  # a one-line excerpt has no place to cut


def test_the_corpus_has_logs_to_cut():
    assert len(CUTTABLE) >= 40


@pytest.mark.parametrize("path", CUTTABLE, ids=lambda p: p.name)
def test_every_corpus_log_cut_anywhere_gives_the_one_pass_result(path):
    data = path.read_bytes()
    starts = line_starts(data)
    old_style_branches = b"[Pipeline] [" in data  # a part may be refused there (see the old-style test below)
    rng = random.Random(path.name)
    want = key(one_pass(data))
    for _ in range(6):
        cuts = sorted(set(rng.sample(starts, k=min(len(starts), rng.randint(1, 3)))))
        got, placed = in_parts(data, cuts)
        assert key(got) == want, f"cuts at {cuts}"
        assert placed and (all(placed) or old_style_branches), "a part was scanned again for no reason"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), keep=st.sampled_from([1, 3, 50]), n_cuts=st.integers(1, 4),
       last_newline=st.booleans())
def test_a_pipeline_log_cut_at_any_line_gives_the_one_pass_result(seed, keep, n_cuts, last_newline):
    """Stages opened before a cut, the keep limit reached across it, copies of a wait-loop line on both sides, a
    last line with or without its newline."""
    rng = random.Random(seed)
    data = jenkins_log(rng) if last_newline else jenkins_log(rng).rstrip(b"\n")
    cuts = sorted(set(rng.sample(line_starts(data), k=n_cuts)))
    got, placed = in_parts(data, cuts, keep=keep)
    assert key(got) == key(one_pass(data, keep=keep))
    assert all(placed)


@pytest.mark.parametrize("filler", [0, 3000], ids=["near the start", "past LOOKBACK"])
def test_a_stage_opened_before_the_cut_is_the_stage_of_a_failure_after_it(filler):
    """Stage, node, the `pull ping error` line read as context and the Earthly target all come from before the
    cut; far into a log they come from the bytes kept before the part, not from the file's start."""
    data = ("[Pipeline] node\nRunning on agent-7 in /ws\n" + "+lint | --> RUN make lint\n" * filler
            + "[Pipeline] { (Image)\n" + "+build | --> RUN make\n" * 25 + "+image | --> SAVE IMAGE\n"
            + f"{FAILURE}\n[Pipeline] // stage\n").encode()
    assert filler == 0 or data.index(b"Error: pull ping") > 2 * split.LOOKBACK
    for cut in (data.index(b"Error: pull ping"), data.index(b"\t* command failed")):  # the context line after, before
        got, placed = in_parts(data, [cut])
        first = got.first("proxy-unreachable")
        assert placed == [True]
        assert (first.stage, first.node, first.line) == ("Image", "agent-7", 31 + filler)
        assert first.context is not None and "pull ping error" in first.context
        assert first.fields.get("target") == "+image"
        assert key(got) == key(one_pass(data))


def test_keep_applies_to_the_sum_of_the_parts():
    data = "".join(f"+integration | {REFUSED}\n" for _ in range(80)).encode()
    cut = line_starts(data)[29]
    got, _ = in_parts(data, [cut])
    assert got.counts["loopback-refused-other"] == 80
    kept = [m.line for m in got.matches if m.id == "loopback-refused-other"]
    assert kept == list(range(1, 51))


def test_a_continuation_reads_on_past_the_cut():
    """A signature whose field ends on a later line: the part before the cut reads those lines from after it."""
    sig = parse_signature({
        "id": "multi-line", "title": "t", "meaning": "m", "kind": "failure", "status": "fail",
        "anchors": ["BEGIN-ERROR"], "pattern": r"BEGIN-ERROR (?P<detail>.*)",
        "continuation": {"field": "detail", "start": "detail", "pattern": r"^END (?P<detail>\S+)", "within": 5},
        "fixtures": {"match": [{"text": "BEGIN-ERROR x"}]},
    }, "test")
    data = b"noise\nBEGIN-ERROR first\nmore\nEND part-two-value\ntail\n"
    cut = data.index(b"more")
    got, placed = in_parts(data, [cut], [sig])
    assert key(got) == key(one_pass(data, [sig]))
    assert placed == [True]
    assert got.first("multi-line").fields["detail"] == "part-two-value"


def test_an_old_style_branch_opened_before_the_cut_is_scanned_again_in_order():
    """The part after the cut cannot know `[Build]` is an open branch; its target lookup for such a line would
    differ, so the part is refused and its bytes are scanned here: still the one-pass result."""
    data = ("[Pipeline] parallel\n[Pipeline] [Build] { (Branch: Build)\n[Pipeline] [Test] { (Branch: Test)\n"
            "[Build] +build | --> RUN make\n[Test] +test | --> RUN go test\n" * 3
            + "[Build] +image | --> SAVE IMAGE\n[Test] +test | --> RUN go test\n"
            + "".join(f"[Build] {line}\n" for line in FAILURE.split("\n")) + "[Pipeline] // parallel\n").encode()
    cut = data.index(b"[Build] Error: pull ping")
    got, placed = in_parts(data, [cut])
    assert placed == [False]
    assert key(got) == key(one_pass(data))
    assert got.first("proxy-unreachable").stage == "Build"


# ---- real forked children ---------------------------------------------------------------------------------------


@pytest.fixture
def big_log(tmp_path) -> Path:
    rng = random.Random(1)
    path = tmp_path / "build.log"
    path.write_bytes(b"".join(jenkins_log(rng, 3000) for _ in range(4)))
    return path


@pytest.fixture(autouse=True)
def _no_child_left():
    before = {p.pid for p in psutil.Process().children()}  # a daemon other tests started is not the scan's
    yield
    left = [p for p in psutil.Process().children() if p.pid not in before]
    assert left == [], "a scan left a child process behind"


def _forked(path: Path, parts: int, monkeypatch) -> Scanner:
    monkeypatch.setattr(split, "_forkable", lambda: True)  # pytest's own threads are none of the scan's business
    forks = []
    real_fork = split._fork
    monkeypatch.setattr(split, "_fork", lambda *a: forks.append(1) or real_fork(*a))
    scanner = split.scan_split(str(path), SIGS, parts=parts)
    assert scanner is not None and len(forks) == parts - 1
    return scanner


@pytest.mark.parametrize("parts", [2, 3, 5])
def test_forked_parts_give_the_one_pass_result(big_log, parts, monkeypatch):
    assert key(_forked(big_log, parts, monkeypatch)) == key(one_pass(big_log.read_bytes()))


def _child_that(behaviour):
    def scan_part(fd, start, stop, sigs):
        if behaviour == "raises":
            raise RuntimeError("a bug in a child")
        if behaviour == "dies":
            os.kill(os.getpid(), signal.SIGKILL)
        if behaviour == "hangs":
            time.sleep(60)
        if behaviour == "lies":
            return "not a part"
        return real_scan_part(fd, start, stop, sigs)

    return scan_part


real_scan_part = split.scan_part


@pytest.mark.parametrize("behaviour", ["raises", "dies", "hangs", "lies"])
def test_a_child_that_fails_costs_speed_not_the_result(big_log, behaviour, monkeypatch):
    monkeypatch.setattr(split, "scan_part", _child_that(behaviour))
    monkeypatch.setattr(split, "WAIT_MIN", 1.0)
    began = time.monotonic()
    got = _forked(big_log, 3, monkeypatch)
    assert key(got) == key(one_pass(big_log.read_bytes()))
    assert time.monotonic() - began < 20


def test_the_children_read_the_file_this_process_opened_not_what_the_path_names_later(big_log, tmp_path,
                                                                                      monkeypatch):
    """The tool may run as root over a workspace others can write: a log swapped for another file (a link to a
    secret, say) between the open and the children's reads must not reach the report."""
    want = key(one_pass(big_log.read_bytes()))
    decoy = tmp_path / "decoy"
    decoy.write_bytes(b"[Pipeline] { (Secret)\n" + FAILURE.encode() * 1000)
    real_fork = split._fork

    def swap_then_fork(*a):
        if decoy.exists():
            os.replace(decoy, big_log)
        return real_fork(*a)

    monkeypatch.setattr(split, "_forkable", lambda: True)
    monkeypatch.setattr(split, "_fork", swap_then_fork)
    got = split.scan_split(str(big_log), SIGS, parts=3)
    assert not decoy.exists(), "the swap happened"
    assert key(got) == want


def test_a_part_that_sends_truncated_bytes_is_scanned_here(big_log, monkeypatch):
    monkeypatch.setattr(split, "_forkable", lambda: True)
    monkeypatch.setattr(pickle, "dumps", lambda obj, *_a: b"\x80\x05garbage")
    assert key(split.scan_split(str(big_log), SIGS, parts=2)) == key(one_pass(big_log.read_bytes()))


def test_what_is_not_split(tmp_path, monkeypatch):
    monkeypatch.setattr(split, "_forkable", lambda: True)
    gz = tmp_path / "x.log.gz"
    gz.write_bytes(b"\x1f\x8b" + b"\0" * 100)
    one_line = tmp_path / "one.log"
    one_line.write_bytes(b"x" * (3 << 20))
    assert split.scan_split(str(gz), SIGS, parts=2) is None
    assert split.scan_split(str(one_line), SIGS, parts=2) is None  # no line start near the middle
    assert split.scan_split("-", SIGS, parts=2) is None
    assert split.scan_split(str(tmp_path / "missing.log"), SIGS, parts=2) is None
    assert split.part_count(split.SPLIT_MIN - 1) == 1
    monkeypatch.setenv(split.ENV_PARTS, "1")
    assert split.part_count(10 * split.SPLIT_MIN) == 1


def test_only_the_main_thread_of_a_process_without_other_threads_forks():
    import threading

    seen = []
    worker = threading.Thread(target=lambda: seen.append(split._forkable()))
    worker.start()
    worker.join()
    assert seen == [False]
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="someone-else")
    other.start()
    try:
        assert split._forkable() is False
    finally:
        stop.set()
        other.join()


def test_triage_of_a_big_log_is_split_and_reports_what_one_pass_reports(tmp_path, monkeypatch):
    """`earthly-doctor triage` end to end: the log is scanned by forked parts (sizes scaled down so a 2 MB log is
    big), and the JSON report is the one-pass report (EARTHLY_DOCTOR_PARTS=1), timings aside."""
    import json

    from typer.testing import CliRunner

    from earthly_doctor.cli.app import build_app

    path = tmp_path / "build.log"
    path.write_bytes(jenkins_log(random.Random(7), 30_000))
    assert path.stat().st_size > 2 << 20
    monkeypatch.setattr(split, "SPLIT_MIN", 1 << 20)
    monkeypatch.setattr(split, "PART_MIN", 512 << 10)
    monkeypatch.setattr(split, "_forkable", lambda: True)
    monkeypatch.setattr(split.os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    forks = []
    real_fork = split._fork
    monkeypatch.setattr(split, "_fork", lambda *a: forks.append(a[1]) or real_fork(*a))

    def report() -> dict:
        result = CliRunner().invoke(build_app(), ["triage", str(path), "--format", "json"],
                                    env={"NO_COLOR": "1", "COLUMNS": "100"})
        data = json.loads(result.stdout)
        for finding in data["findings"]:
            finding.pop("duration_ms", None)
        data.pop("duration_ms", None)
        return data

    in_parts_report = report()
    assert len(forks) == 2
    monkeypatch.setenv(split.ENV_PARTS, "1")
    assert in_parts_report == report()
    assert len(forks) == 2, "EARTHLY_DOCTOR_PARTS=1 scans in one pass"
    assert in_parts_report["verdict"]["cause"] == "proxy-unreachable"


_METADATA = ["[Pipeline] { (Build)", "[Pipeline] { (Branch: a)", "[Pipeline] { (Branch: b)", "[Pipeline] {",
             "[Pipeline] }", "[Pipeline] // stage", "[Pipeline] parallel", "[Pipeline] // parallel", "[Pipeline] sh",
             "[Pipeline] // node", "[Pipeline] echo", "Running on agent-1 in /ws", "Running on agent-2 in /ws",
             "[Pipeline] [a] { (Test)", "[Pipeline] [a] { (Branch: a)", "[Pipeline] [a] }", "[Pipeline] [a] sh",
             "[Pipeline] [b] { (Lint)", "[Pipeline] [b] }", "[Pipeline] [b] echo hi", "[Pipeline] [a] // stage"]


@settings(max_examples=300, deadline=None)
@given(before=st.lists(st.sampled_from(_METADATA), max_size=30), after=st.lists(st.sampled_from(_METADATA),
                                                                              max_size=30))
def test_a_part_records_every_pipeline_line_that_can_change_the_state(before, after):
    """A part keeps only the lines `may_change` admits (an old-style log's branch `sh` lines are most of it);
    replaying those over any state the parts before left gives the state replaying every line gives."""
    from earthly_doctor.triage.normalise import PipelineState

    every, kept = PipelineState(), PipelineState()
    for text in before:
        every.observe(text)
        kept.observe(text)
    for text in after:
        every.observe(text)
        if PipelineState.may_change(text):
            kept.observe(text)
        assert (kept.stage, kept.node, kept.stack, kept.branches, kept.parallels) == \
            (every.stage, every.node, every.stack, every.branches, every.parallels)


def test_an_old_style_parallel_log_gives_a_small_journal():
    lines = ["[Pipeline] parallel", "[Pipeline] [a] { (Branch: a)", "[Pipeline] [b] { (Branch: b)"]
    lines += ["[Pipeline] [a] sh", "[a] + make", "[Pipeline] [b] sh", "[b] + make lint"] * 20_000
    data = ("\n".join(lines) + "\n").encode()
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        part = split.scan_part(f.fileno(), data.index(b"[Pipeline] [a] sh"), None, SIGS)
    assert len(part.events) == 0


def test_a_fifo_is_left_to_the_one_pass_scan_without_being_opened(tmp_path, monkeypatch):
    """`triage <(zcat log.gz)` and named pipes: the split must not open a FIFO (that waits for a writer) nor close
    it again (the writer's next write would fail before the one-pass scan opens it)."""
    import threading

    from earthly_doctor.triage.library import triage_findings

    fifo = tmp_path / "build.log"
    os.mkfifo(fifo)
    data = (ROOT / "examples" / "logs" / "issue-3736-jenkins.log").read_bytes()
    outcome: list[object] = []

    def write() -> None:
        try:
            with open(fifo, "wb") as pipe:
                pipe.write(data)
            outcome.append("written")
        except OSError as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    findings: list = []
    # On its own thread, bounded: a scan that reopened the pipe after its writer left would wait for ever.
    reader = threading.Thread(target=lambda: findings.extend(triage_findings([str(fifo)])), daemon=True)
    monkeypatch.setattr(split, "_forkable", lambda: True)  # (the patch holds for the reader thread too)
    reader.start()
    reader.join(timeout=20)
    writer.join(timeout=10)
    assert not reader.is_alive(), "the scan hung on the pipe"
    assert outcome == ["written"]
    assert any(f.extra.get("signature") == "proxy-unreachable" for f in findings)
