"""The streaming scanner: any chunking gives the same answer, memory and time stay bounded on hostile input,
and the two APIs other commands use (byte chunks from HTTP, lines from a subprocess) behave as documented."""

from __future__ import annotations

import random
import time
import tracemalloc
from pathlib import Path

import pytest

from earthly_doctor.triage import PROXY_UNREACHABLE, Scanner, load_signatures, scan_chunks, scan_text
from earthly_doctor.triage.scanner import HALF, LOOKBACK, PENDING_MAX

LOGS = Path(__file__).resolve().parents[2] / "examples" / "logs"
# The scanner's mechanics, over the failure pair: without the fallback signature that also sees its `Error:` line.
SIGS = tuple(s for s in load_signatures() if not s.fallback)
FAIL_PAIR = (
    "Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    "\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
    'Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection refused: exit status 1\n'
)


def key(matches):
    return [(m.id, m.line, m.timestamp, m.stage, m.node, tuple(sorted(m.fields.items())), m.context) for m in matches]


def chunked(data: bytes, sizes) -> list[bytes]:
    out, i = [], 0
    for size in sizes:
        if i >= len(data):
            break
        out.append(data[i : i + size])
        i += size
    if i < len(data):
        out.append(data[i:])
    return out


@pytest.mark.parametrize("path", sorted(LOGS.glob("*.log")), ids=lambda p: p.name)
def test_any_chunking_gives_the_same_matches(path):
    data = path.read_bytes()
    whole = key(scan_chunks([data], SIGS).matches)
    assert key(scan_chunks([data[i : i + 1] for i in range(len(data))], SIGS).matches) == whole
    rng = random.Random(path.name)
    for _ in range(5):
        sizes = [rng.randint(1, 200) for _ in range(len(data))]
        assert key(scan_chunks(chunked(data, sizes), SIGS).matches) == whole


@pytest.mark.parametrize("path", sorted(LOGS.glob("*.log")), ids=lambda p: p.name)
def test_feed_stream_reads_straight_into_the_buffer_with_the_same_result(path):
    import io

    data = path.read_bytes()
    for size in (7, 4096, 1 << 20):
        scanner = Scanner(SIGS)
        scanner.feed_stream(io.BufferedReader(io.BytesIO(data)), size)
        scanner.finish()
        assert key(scanner.matches) == key(scan_chunks([data], SIGS).matches)
        assert scanner.lines == scan_chunks([data], SIGS).lines


def test_lines_from_a_subprocess_report_the_match_on_the_line_that_completes_it():
    scanner = Scanner(SIGS)
    lines = ["[Pipeline] { (Image)", "+ earthly +image", *FAIL_PAIR.splitlines(), "after"]
    seen_at = [i for i, line in enumerate(lines) if any(m.id == PROXY_UNREACHABLE for m in scanner.feed_line(line))]
    assert seen_at == [3]
    assert scanner.seen(PROXY_UNREACHABLE) and not scanner.seen("buildkitd-crashed")
    m = scanner.first(PROXY_UNREACHABLE)
    assert (m.line, m.stage, m.fields["port"], m.fields["target"]) == (4, "Image", "35137", "+image")
    assert m.context.startswith("Error: pull ping error")
    assert scanner.finish() == [] and scanner.lines == 5


def test_feed_line_accepts_bytes_and_keeps_one_newline():
    scanner = Scanner(SIGS)
    for line in FAIL_PAIR.encode().splitlines(keepends=True):
        scanner.feed_line(line)
    scanner.finish()
    assert scanner.lines == 2 and scanner.counts[PROXY_UNREACHABLE] == 1


def test_feed_after_finish_is_a_bug_and_finish_is_idempotent():
    scanner = Scanner(SIGS)
    scanner.feed(b"x\n")
    scanner.finish()
    assert scanner.finish() == []
    with pytest.raises(RuntimeError):
        scanner.feed(b"y")


def test_on_match_sees_every_hit_while_matches_keep_a_bounded_number():
    seen = []
    scanner = Scanner(SIGS, on_match=seen.append, keep=3)
    for _ in range(20):
        scanner.feed(FAIL_PAIR.encode())
    scanner.finish()
    assert len(seen) == 20 and scanner.counts[PROXY_UNREACHABLE] == 20
    assert len([m for m in scanner.matches if m.id == PROXY_UNREACHABLE]) == 3
    assert [m.line for m in scanner.matches] == [2, 4, 6]


def test_line_numbers_count_newlines_across_crlf_cr_and_a_missing_last_newline():
    data = b"a\r\nb\rprogress\r\n\r\n" + FAIL_PAIR.replace("\n", "\r\n").encode().rstrip(b"\r\n")
    (m,) = [m for m in scan_text(data, SIGS) if m.id == PROXY_UNREACHABLE]
    assert m.line == 5
    scanner = scan_chunks([data], SIGS)
    assert scanner.lines == 5


def test_the_context_line_is_found_across_a_chunk_boundary():
    data = ("x\n" * 1000 + FAIL_PAIR).encode()
    cut = data.index(b"\t* command")
    scanner = scan_chunks([data[:cut], data[cut:]], SIGS)
    assert scanner.first(PROXY_UNREACHABLE).context.startswith("Error: pull ping error")


def test_a_progress_redraw_hiding_the_error_is_still_seen():
    data = ("output | [--] 10%\routput | [----] 40%\r" + FAIL_PAIR.replace("\t*", "\r\t*", 1)).encode()
    assert scan_text(data, SIGS)[0].id == PROXY_UNREACHABLE


def test_invalid_utf8_and_nul_bytes_do_not_stop_the_scan():
    data = b"\xff\xfe\x00garbage \xc3\x28\n" + b"\x80" * 100 + b"\n" + FAIL_PAIR.encode()
    assert [m.id for m in scan_text(data, SIGS)] == [PROXY_UNREACHABLE]


def test_a_10mb_line_without_newline_is_scanned_under_a_bounded_buffer():
    scanner = Scanner(SIGS)
    filler = b"x" * 65536
    peak = capacity = 0
    began = time.monotonic()
    for _ in range(160):  # 10 MiB of one line
        scanner.feed(filler)
        peak, capacity = max(peak, scanner._end), max(capacity, len(scanner._buf))
    scanner.feed(b" " + FAIL_PAIR.split("\n")[1].encode())  # the failure at the very end of the same line
    scanner.finish()
    assert time.monotonic() - began < 5
    assert peak <= PENDING_MAX + 65536 + LOOKBACK + HALF
    assert capacity <= 2 * (PENDING_MAX + 65536 + LOOKBACK + HALF)
    assert scanner.seen(PROXY_UNREACHABLE) and scanner.lines == 1


def test_memory_stays_flat_on_a_large_stream():
    block = ("[2024-01-22T23:20:47.159Z]               +build | compile layer sha256 ok\n" * 12000).encode()
    tracemalloc.start()
    scanner = Scanner(SIGS)
    for _ in range(40):  # ~35 MB
        scanner.feed(block)
    scanner.feed(FAIL_PAIR.encode())
    scanner.finish()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert scanner.seen(PROXY_UNREACHABLE)
    assert peak < 3 * len(block) + 4 * 2**20, peak


HOSTILE = {
    "anchors back to back": b"/pullping:img-" * 200_000,
    "near-miss pulls": b"command failed: docker pull 127.0.0.1:1/sess-" * 50_000,
    "near-miss daemon text": (b"* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: "
                              b"exit status 1: Error response from daemon: " + b"dial tcp 127.0.0.1:1: " * 500 + b"\n") * 400,
    "refusals without newlines": b"dial tcp 127.0.0.1:8373: connect: connection refused " * 100_000,
    "carriage returns": b"\r" * 2_000_000 + b"/pullping:img-" + b"\r" * 1_000_000,
    "unterminated notes": (b"\x1b[8mha:" + b"A" * 5000) * 400 + b"[Pipeline] {\n",
    "escape storm": b"\x1b[" * 1_000_000 + b"registry-proxy | Failed to start registry proxy: x\n",
    "open blocks": b"[Pipeline] { (S)\n" * 100_000,
    "remnant storm": b"[1;2;3;4;5;6;7;8;9;" * 200_000 + b"connect: connection refused\n",
    "a failure repeated": FAIL_PAIR.encode() * 30_000,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_bounded(name):
    data, chunk = HOSTILE[name], 1 << 19
    scanner, capacity = Scanner(SIGS), 0
    began = time.monotonic()
    for i in range(0, len(data), chunk):
        scanner.feed(data[i : i + chunk])
        capacity = max(capacity, len(scanner._buf))
    scanner.finish()
    elapsed = time.monotonic() - began
    assert elapsed < 5, f"{name}: {elapsed:.1f}s for {len(data) / 2**20:.1f} MiB"
    # Measured, not implied: the scan buffer (the one thing that could grow with the input) stays within the pending
    # line, a chunk and the context kept around hits, doubled for the bytearray's growth.
    assert capacity <= 2 * (PENDING_MAX + chunk + LOOKBACK + HALF), f"{name}: {capacity / 2**20:.2f} MiB buffer"


def test_catastrophic_shapes_in_builtin_patterns_would_be_rejected():
    from earthly_doctor.triage.signatures import _nested_unbounded

    assert _nested_unbounded(r"(a+)+b") and _nested_unbounded(r"(?:x*y*)*z")
    for sig in SIGS:
        assert not _nested_unbounded(sig.regex.pattern), sig.id


@pytest.mark.parametrize("before,target", [
    # Hundreds of lines with a `+` after the first `|` (skipped uncleaned), then the failure: the target is the
    # last real `+target |` prefix before them.
    (b"  +build | --> RUN make\n" + b"   output | [ 42%] building layer 00042 of +image: copying files\n" * 200,
     "+build"),
    # An OSC hyperlink holding a `|` before the prefix: cleaned, so the prefix after it still counts.
    (b"\x1b]8;;http://a|b\x07./sub+lint | ok\n", "./sub+lint"),
    # An `sh -x` trace of the earthly call names the target although no `|` follows it.
    (b"+ earthly --ci --push +image\n", "+image"),
    # `+` only after the first `|`, nothing else: no target at all.
    (b"   output | copying +image\n", None),
])
def test_the_target_is_the_last_earthly_prefix_before_the_failure(before, target):
    pair = (
        b"Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
        b"\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
        b"Error response from "
        b'daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection refused\n'
    )
    m = next(m for m in scan_text(before + pair) if m.id == "proxy-unreachable")
    assert m.fields.get("target") == target


@pytest.mark.parametrize("after,found", [(397, True), (398, True), (399, False), (400, False)])
def test_the_target_is_looked_for_in_the_last_400_lines_exactly(after, found):
    """A `+target |` line followed by `after` lines without one (and the empty text after the last newline): it is
    among the last 400 lines the search reads up to 398 lines after it."""
    chunk = ("\n".join(["  +build | --> RUN make"] + ["plain line"] * after) + "\n").encode()
    scanner = Scanner(SIGS)
    scanner._buf[0:0] = chunk
    assert scanner._target_before(len(chunk), None) == ("+build" if found else None)
