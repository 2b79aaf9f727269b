"""Hypothesis over random and mutated log lines: the scanner never crashes, never depends on how the bytes were
chunked, and every signature fixture still matches (same fields) inside noise, Jenkins prefixes and CRLF."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earthly_doctor.triage import Scanner, load_signatures, scan_chunks

SIGS = load_signatures()
FIXTURES = [(sig, fx) for sig in SIGS for fx in sig.matches]
ANCHORS = sorted({a for s in SIGS for a in s.anchors} | {"[Pipeline] { (X)", "[Pipeline] }"})
FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

pieces = st.one_of(
    st.text(max_size=40),
    st.sampled_from(ANCHORS),
    st.sampled_from(["\r", "\n", "\r\n", "\x1b[", "\x1b[8mha:", "\x1b[0m", "[K", "\t* ", "127.0.0.1:", ": ",
                     "[2024-01-22T23:20:55.244Z] ", "dial tcp 127.0.0.1:35137: connect: connection refused"]),
)
logs = st.lists(pieces, max_size=60).map("".join)


def key(matches):
    return [(m.id, m.line, m.timestamp, m.stage, tuple(sorted(m.fields.items()))) for m in matches]


@FUZZ
@given(text=logs, cuts=st.lists(st.integers(min_value=1, max_value=64), max_size=30), raw=st.binary(max_size=200))
def test_random_logs_never_crash_and_chunking_never_matters(text, cuts, raw):
    data = text.encode("utf-8", "surrogatepass") + raw
    whole = scan_chunks([data], SIGS)
    chunks, i = [], 0
    for c in cuts:
        chunks.append(data[i : i + c])
        i += c
    chunks.append(data[i:])
    pieces_scan = scan_chunks(chunks, SIGS)
    assert key(pieces_scan.matches) == key(whole.matches)
    assert pieces_scan.lines == whole.lines


noise_line = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=80).filter(
    lambda s: not any(a in s for a in ANCHORS) and "[Pipeline]" not in s
)


@FUZZ
@given(
    index=st.integers(min_value=0, max_value=len(FIXTURES) - 1),
    before=st.lists(noise_line, max_size=8),
    after=st.lists(noise_line, max_size=8),
    crlf=st.booleans(),
    chunk=st.integers(min_value=1, max_value=4096),
)
def test_fixtures_stay_stable_inside_noise(index, before, after, crlf, chunk):
    sig, fx = FIXTURES[index]
    expected = [m for m in scan_chunks([fx.text.encode()], SIGS).matches if m.id == sig.id][0]
    text = "".join(line + "\n" for line in before) + fx.text + "\n" + "".join(line + "\n" for line in after)
    data = text.encode()
    if crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    scanner = scan_chunks([data[i : i + chunk] for i in range(0, len(data), chunk)], SIGS)
    got = [m for m in scanner.matches if m.id == sig.id]
    assert got, f"{sig.id} lost its fixture inside noise"
    assert got[0].fields == expected.fields
    assert got[0].line == expected.line + len(before)


@FUZZ
@given(index=st.integers(min_value=0, max_value=len(FIXTURES) - 1), flips=st.lists(
    st.tuples(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255)), max_size=6))
def test_mutated_fixtures_never_crash(index, flips):
    data = bytearray(FIXTURES[index][1].text.encode())
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    scanner = Scanner(SIGS)
    scanner.feed(bytes(data))
    scanner.finish()
    for m in scanner.matches:
        assert m.line >= 1 and m.signature in SIGS
