"""The two finders (Hyperscan, and `bytearray.find` where the wheel is missing) give IDENTICAL findings: on every
log of the corpus, on every signature fixture, under any chunking, and past the keep limit where hits are counted
rather than handled."""

from __future__ import annotations

import contextlib
import platform
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earthly_doctor.triage import Scanner, findings_from_scan, load_signatures, scan_chunks
from earthly_doctor.triage import finders
from earthly_doctor.triage.finders import ENV, PythonFinder, find_shared, hyperscan_available, make_finder
from earthly_doctor.triage.normalise import STRUCTURAL_MARKERS
from earthly_doctor.triage import repeats, vector
from earthly_doctor.triage.repeats import Repeats
from earthly_doctor.triage.signatures import parse_signature

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted([*(ROOT / "examples" / "logs").glob("*.log"), *(ROOT / "tests" / "fixtures" / "logs").rglob("*.log"),
                 *(ROOT / "tests" / "data").rglob("*.log")])
SIGS = load_signatures()
WHEEL_PLATFORM = sys.platform == "linux" and platform.machine() == "x86_64"

if not hyperscan_available():
    if WHEEL_PLATFORM:  # the dependency installs here: a missing wheel is a broken install, not a skip
        pytest.fail("hyperscan is a dependency on x86_64 Linux but does not import", pytrace=False)
    pytest.skip("no hyperscan wheel for this platform: the python finder is the only one", allow_module_level=True)


@contextlib.contextmanager
def checked_by(path: str):
    """Copies checked (and newlines counted) by the Python loop, or by numpy for every batch and range however
    small (a big scan's path, vector.py)."""
    with pytest.MonkeyPatch.context() as m:
        if path == "numpy":
            import numpy as np

            m.setattr(vector, "_np", np)  # restored afterwards: other tests keep the small-log path
            m.setattr(repeats, "VECTOR_HITS", 1)
            m.setattr(vector, "VECTOR_MIN", 1)
            m.setattr(vector, "BLOCK", 7)  # blocks end inside lines and inside the range
        else:
            m.setattr(vector, "_np", None)
        yield


def key(scanner: Scanner) -> tuple:
    matches = [(m.id, m.line, m.text, m.timestamp, m.stage, m.node, tuple(sorted(m.fields.items())), m.context)
               for m in scanner.matches]
    return matches, dict(scanner.counts), scanner.lines, scanner.bytes_seen, scanner.anchor_hits


def scan(data: bytes, finder: str, sizes: list[int] | None = None, **kw) -> Scanner:
    chunks, i = [], 0
    for size in sizes or []:
        chunks.append(data[i : i + size])
        i += size
    chunks.append(data[i:])
    scanner = scan_chunks(chunks, SIGS, finder=finder, **kw)
    assert scanner.finder == finder
    return scanner


def test_the_corpus_is_there_and_is_not_trivial():
    assert len(CORPUS) >= 40, CORPUS
    scanners = [scan(p.read_bytes(), "hyperscan") for p in CORPUS]
    assert sum(1 for s in scanners if s.counts) >= 30  # most logs hold at least one signature
    assert sum(1 for s in scanners if any(m.stage for m in s.matches)) >= 3  # and stages are exercised


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_corpus_log_gives_identical_findings(path):
    data = path.read_bytes()
    fast, slow = scan(data, "hyperscan"), scan(data, "python")
    assert key(fast) == key(slow)
    as_dicts = [f.to_dict() for f in findings_from_scan(fast, path.name)]
    assert as_dicts == [f.to_dict() for f in findings_from_scan(slow, path.name)]


def test_every_signature_fixture_gives_identical_findings():
    for sig in SIGS:
        for fx in (*sig.matches, *sig.no_matches):
            data = fx.text.encode()
            assert key(scan(data, "hyperscan")) == key(scan(data, "python")), (sig.id, fx.text[:80])


pieces = st.one_of(
    st.text(max_size=30),
    st.sampled_from(sorted({a for s in SIGS for a in s.anchors} | set(STRUCTURAL_MARKERS))),
    st.sampled_from(["\r", "\n", "\r\n", "\x1b[", "\x1b[8mha:", "\x1b[0m", "[K", "\t* ", "[Pipeline] }", ") ",
                     "[2024-01-22T23:20:55.244Z] ", "dial tcp 127.0.0.1:35137: connect: connection refused",
                     "Build)\n", "Branch: a)\n", "[Pipeline] { (Image)\n", "agent-1 in /w\n", "+build | "]),
    st.sampled_from([fx.text for s in SIGS for fx in s.matches]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(pieces, max_size=40), cuts=st.lists(st.integers(min_value=1, max_value=200), max_size=20),
       raw=st.binary(max_size=64), keep=st.sampled_from([1, 2, 50]))
def test_both_finders_agree_under_any_chunking(parts, cuts, raw, keep):
    data = "".join(parts).encode("utf-8", "surrogatepass") + raw
    whole = key(scan(data, "python", keep=keep))
    assert key(scan(data, "hyperscan", cuts, keep=keep)) == whole
    assert key(scan(data, "python", cuts, keep=keep)) == whole


def test_past_the_keep_limit_hits_are_counted_the_same_way():
    """A service wait loop: 500 refusals, then the real failure. Past `keep` the repeated refusal is counted from
    its remembered verdict, exactly, and both finders count alike."""
    loop = b"[2024-01-22T23:20:00.000Z]         +integration | dial tcp 127.0.0.1:5432: connect: connection refused\n"
    pair = (ROOT / "examples" / "logs" / "issue-3736-jenkins.log").read_bytes()
    data = loop * 500 + pair
    fast, slow = scan(data, "hyperscan", [4096] * 20, keep=5), scan(data, "python", keep=5)
    assert key(fast) == key(slow)
    assert fast.counts["loopback-refused-other"] == 500
    assert fast.counts["proxy-unreachable"] == 1
    assert len([m for m in fast.matches if m.id == "loopback-refused-other"]) == 5


def test_the_environment_variable_picks_the_python_finder(monkeypatch):
    monkeypatch.setenv(ENV, "python")
    assert Scanner(SIGS).finder == "python"
    monkeypatch.setenv(ENV, "")
    assert Scanner(SIGS).finder == "hyperscan"
    assert isinstance(make_finder([b"abcd"], "python"), PythonFinder)


def test_an_anchor_with_a_nul_byte_falls_back_to_the_python_finder(monkeypatch):
    """The Python binding hands Hyperscan C strings: a NUL would cut the pattern short and shift every hit."""
    monkeypatch.delenv(ENV, raising=False)
    patterns = ["connexion refusée".encode(), b"a\x00bcd", "日本語テキスト".encode()]
    buf = bytearray("xx connexion refusée yy a\x00bcd 日本語テキスト\n".encode())
    assert make_finder(patterns).name == "python"
    assert make_finder(patterns).find(buf, 0, len(buf), len(buf)) == [768, 6401, 7938]
    without_nul = [patterns[0], patterns[2]]
    assert make_finder(without_nul).name == "hyperscan"
    assert make_finder(without_nul).find(buf, 0, len(buf), len(buf)) == \
        make_finder(without_nul, "python").find(buf, 0, len(buf), len(buf))


def test_finders_report_overlapping_and_boundary_hits_alike():
    patterns = [b"abab", b"baba", b"[Pipeline] { ("]
    buf = bytearray(b"xabababab\n[Pipeline] { (S)\nabab")
    for begin, limit, stop in [(0, len(buf), len(buf)), (2, 10, 14), (0, 29, len(buf)), (5, 5, 9)]:
        assert make_finder(patterns, "hyperscan").find(buf, begin, limit, stop) == \
            make_finder(patterns, "python").find(buf, begin, limit, stop), (begin, limit, stop)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=3000).map(lambda b: b.replace(b"\0", b"x")),
       planted=st.lists(st.tuples(st.integers(0, 3000), st.sampled_from([b"abab", b"baba", b"[Pipeline] { ("])),
                        max_size=30),
       piece=st.integers(1, 300), cut=st.integers(0, 40))
def test_a_region_searched_on_both_threads_gives_the_one_thread_hits(data, planted, piece, cut):
    """find_shared splits a region into a head and pieces claimed by two threads; a hit that straddles a piece's
    end, or overlaps another, is found once and in order, and `side()` runs exactly once."""
    buf = bytearray(data)
    for at, pattern in planted:
        buf[at:at] = pattern
    patterns = [b"abab", b"baba", b"[Pipeline] { ("]
    finder = make_finder(patterns, "hyperscan")
    begin, limit = min(cut, len(buf)), max(min(cut, len(buf)), len(buf) - cut)
    stop = min(len(buf), limit + 13)
    calls = []
    old, finders.PIECE = finders.PIECE, piece
    try:
        hits, value = find_shared(finder, buf, begin, limit, stop, lambda: calls.append(1) or "counted")
    finally:
        finders.PIECE = old
    assert hits == make_finder(patterns, "python").find(buf, begin, limit, stop)
    assert (value, calls) == ("counted", [1])


_STAMP = b"[2024-01-22T23:20:00.000Z] "
_REFUSED = b"        +integration | dial tcp 127.0.0.1:5432: connect: connection refused"
# The known line, and lines that look like it to a careless comparison but are not the same line.
_REPEATS = [
    _STAMP + _REFUSED, _REFUSED, _STAMP + _REFUSED, b"[2024-01-22T23:20:00.000Z] " + _REFUSED,
    b"fooZ] " + _REFUSED,  # ends like a Timestamper prefix, is not one
    b"[2024-01-22T23:20:00.000Zx " + _REFUSED,  # the prefix's 27 bytes, one of its last three wrong
    b"[2024-01-22T23:20:00.000Z]x" + _REFUSED,
    b"[2024-01-22T23:20:00.000z] " + _REFUSED,
    b"(2024-01-22T23:20:00.000Z] " + _REFUSED,
    b"[2024-01-22T23:20\r00.000Z] " + _REFUSED,  # a carriage return inside the prefix starts a new segment
    b"[2024-01-22T23:20\n00.000Z] " + _REFUSED,  # a newline inside it: two lines
    _STAMP + _REFUSED + b" (retrying)",  # longer than the known line
    b"progress 10%\r" + _STAMP + _REFUSED,
    _STAMP + b"Error: " + _REFUSED,  # a second anchor on the line
    _STAMP + _STAMP + _REFUSED,  # a prefix inside a prefix
    _STAMP + b"        +integration | dial tcp 127.0.0.1:6379: connect: connection refused",
    _STAMP + b"+build | RUN make",
    b"x" + _STAMP + _REFUSED,  # a whole prefix, not at the line's start
    b"[" + b"Error: ".ljust(23, b"0") + b"Z] " + _REFUSED,  # shaped like a prefix, holding another anchor
    b"[" + b"(in time)".ljust(23, b"0") + b"Z] " + _REFUSED,
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.sampled_from(_REPEATS), min_size=1, max_size=120),
       cuts=st.lists(st.integers(min_value=1, max_value=600), max_size=12), keep=st.sampled_from([1, 2, 5]),
       path=st.sampled_from(["loop", "numpy"]))
def test_repeated_lines_counted_in_bulk_match_counting_them_one_at_a_time(lines, cuts, keep, path):
    """Past `keep`, hits on a remembered line are counted in bulk (triage/repeats.py, by a loop or in numpy);
    counting each through `_count_repeat` and `_handle` instead must give the same counts, matches and lines,
    whatever the lines around."""
    data = b"\n".join(lines) + b"\n"
    with checked_by(path):
        bulk = key(scan(data, "hyperscan", cuts, keep=keep))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Repeats, "remember", lambda *_a, **_k: None)
        one_at_a_time = key(scan(data, "hyperscan", cuts, keep=keep))
    assert bulk == one_at_a_time


@pytest.mark.parametrize("path", ["loop", "numpy"])
def test_a_dense_wait_loop_over_many_regions_counts_as_one_hit_at_a_time_does(path):
    """Megabytes of a wait loop (the refusal on every twentieth line, look-alikes among them) read the way triage
    reads a file: regions big enough to be searched on both cores, the dense anchor found by the helper thread
    with `find_each` and its copies counted in bulk. Same matches, counts, lines and anchor hits as handling
    every hit one at a time on one thread."""
    import io
    import random

    rng = random.Random(3736)
    lines = []
    for n in range(60_000):
        roll = rng.random()
        lines.append(rng.choice(_REPEATS) if roll < 0.01 else _STAMP + _REFUSED if roll < 0.06
                     else _STAMP + b"        +build | layer cache hit %d" % n)
    data = b"\n".join(lines) + b"\n" + (ROOT / "examples" / "logs" / "issue-3736-jenkins.log").read_bytes()
    assert len(data) > 4 * finders.PIECE * 2

    def read(**kw) -> Scanner:
        scanner = Scanner(SIGS, finder="hyperscan", **kw)
        scanner.feed_stream(io.BytesIO(data), 1 << 20)
        scanner.finish()
        return scanner

    with checked_by(path):
        bulk = read()
    assert bulk._dense, "the refusal should have been found densely"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Repeats, "remember", lambda *_a, **_k: None)
        one_at_a_time = read()
    assert key(bulk) == key(one_at_a_time)
    assert bulk.counts["loopback-refused-other"] > 2500
    assert bulk.counts["proxy-unreachable"] == 1


# A user's signature anchored at the start of the line (after the Timestamper prefix, which cleaning removes): a
# line with anything else before the same text is NOT a match, so only a true copy may be counted as one.
_ANCHORED = parse_signature({
    "id": "wait-loop-refusal", "title": "A service wait loop", "meaning": "a test signature", "kind": "warning",
    "status": "warn", "anchors": ["connect: connection refused"],
    "pattern": r"^\s*\+integration \| dial tcp (?P<address>\S+): connect: connection refused$",
    "fixtures": {"match": [{"text": _REFUSED.decode()}]},
}, "test")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.sampled_from(_REPEATS), min_size=1, max_size=120),
       cuts=st.lists(st.integers(min_value=1, max_value=600), max_size=12), keep=st.sampled_from([1, 2, 5]),
       path=st.sampled_from(["loop", "numpy"]))
def test_a_copy_is_only_a_line_that_matches_as_the_remembered_one_does(lines, cuts, keep, path):
    """With a signature whose verdict depends on what starts the line, counting look-alikes (text before a
    `Z] `, a prefix cut by a line break) as copies would change the counts: bulk and one-at-a-time must agree."""
    data = b"\n".join(lines) + b"\n"
    with checked_by(path):
        bulk = key(scan_chunks(_chunks(data, cuts), [_ANCHORED], finder="hyperscan", keep=keep))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Repeats, "remember", lambda *_a, **_k: None)
        one_at_a_time = key(scan_chunks(_chunks(data, cuts), [_ANCHORED], finder="hyperscan", keep=keep))
    assert bulk == one_at_a_time


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    out, i = [], 0
    for size in cuts:
        out.append(data[i : i + size])
        i += size
    return [*out, data[i:]]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=3000).map(lambda b: b.replace(b"a", b"\n")), lo=st.integers(0, 3000),
       size=st.integers(0, 3000), block=st.integers(1, 64))
def test_newlines_counted_in_numpy_are_the_ones_bytes_count_finds(data, lo, size, block):
    buf = bytearray(data)
    hi = min(len(buf), lo + size)
    lo = min(lo, hi)
    with checked_by("numpy"), pytest.MonkeyPatch.context() as m:
        m.setattr(vector, "BLOCK", block)
        assert vector.count(buf, lo, hi) == buf.count(b"\n", lo, hi)
    buf.extend(b"x")  # the count holds no view of the buffer once it returns: it can still grow
