"""The stand-in Jenkins' logs (tests/harness/fake_jenkins.py): what progressiveText sends from a byte offset.

The stand-in makes each part's bytes as sent once (its CPU is the client's, on this machine); the reference here is
the plain way: the whole raw log, cut at `start`, with every line end made CRLF.
"""

from __future__ import annotations

import pytest

from tests.harness.fake_jenkins import CHUNK, Log, filler, pipeline_build


def reference(log: Log, start: int) -> bytes:
    raw = b"".join(raw * n for raw, _, n in log.parts)
    return raw[start:].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def mixed() -> Log:
    log = Log().line("first", note=True).extend(filler(300_000)).line("crlf already", eol=b"\r\n")
    log.add(b"x" * (CHUNK + 1234) + b"\n")  # one part longer than a chunk
    return log.extend(pipeline_build(7, fail=True, size=50_000).log())


@pytest.mark.parametrize("start", [0, 1, 99, 6399, 6400, 150_001, 300_050, 370_000, 10**9])
def test_progressive_bytes_from_any_offset_match_the_whole_log_cut_there(start):
    log = mixed()
    size = log.size()
    got = b"".join(log.iter(min(start, size), crlf=True))
    assert got == reference(log, min(start, size))
    assert all(len(c) <= CHUNK for c in log.iter(min(start, size), crlf=True))


def test_the_same_bytes_when_asked_again():
    log = mixed()
    assert b"".join(log.iter(5, crlf=True)) == b"".join(log.iter(5, crlf=True)) == reference(log, 5)
    assert b"".join(log.iter(5)) == b"".join(raw * n for raw, _, n in log.parts)[5:]  # as written, without crlf


def test_a_line_feed_after_a_carriage_return_in_the_part_before_stays_as_it_is():
    """Only a lone LF becomes CRLF (research/jenkins.md §1.6), and the writer keeps "a CR was just written" across
    writes (stapler's LineEndNormalizingWriterTest.test1: `write("abc\\r\\ndef\\r")`, `write("\\n")` gives
    `abc\\r\\ndef\\r\\n`): a part ending in CR and the next starting with LF are one CRLF on the wire, not CR CR LF.
    The same between the runs a repeated part goes out in."""
    log = Log().add(b"progress 10%\r").add(b"\nnext line\n").add(b"\nx" + b"x" * 700 + b"\r", 200).add(b"\nlast\n")
    for start in (0, 5, 13, 14, 30, 702 * 150 + 1, log.size() - 7):
        assert b"".join(log.iter(start, crlf=True)) == reference(log, start), start
