"""A gzip log is unpacked ahead on a helper thread: the bytes are exactly gzip's, several members are one log,
damage is one DoctorError line wherever it sits, and a reader that stops early never leaves the thread behind."""

from __future__ import annotations

import gzip
import threading
import time

import pytest

from earthly_doctor.errors import DoctorError
from earthly_doctor.triage import Scanner, open_stream
from earthly_doctor.triage.sources import open_log

FAIL_PAIR = (
    b"Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    b"\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
    b'Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: '
    b"connection refused: exit status 1\n"
)


def readers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "triage-read")


def test_gzip_bytes_come_out_exactly_across_many_chunks_and_members(tmp_path):
    body = b"".join(b"%08d some build output that compresses well\n" % i for i in range(200_000))  # ~9 MB
    path = tmp_path / "two-members.log.gz"
    path.write_bytes(gzip.compress(body[:3_000_000], 1) + gzip.compress(body[3_000_000:] + FAIL_PAIR, 6))
    assert b"".join(bytes(c) for c in open_log(path)) == body + FAIL_PAIR
    scanner = Scanner()
    with open_stream(path) as stream:
        scanner.feed_stream(stream)
    scanner.finish()
    assert scanner.counts["proxy-unreachable"] == 1 and scanner.lines == 200_002


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_damage_anywhere_is_one_line(tmp_path, keep):
    data = gzip.compress(b"".join(b"%d\n" % i for i in range(400_000)) + FAIL_PAIR)
    bad = tmp_path / "bad.gz"
    bad.write_bytes(data[: max(10, int(len(data) * keep))])  # cut inside the header, the body or the trailer
    with pytest.raises(DoctorError, match="damaged gzip data"):
        b"".join(bytes(c) for c in open_log(bad))
    corrupt = bytearray(data)
    corrupt[len(corrupt) // 2] ^= 0xFF
    bad.write_bytes(bytes(corrupt))
    with pytest.raises(DoctorError, match="damaged gzip data"):
        b"".join(bytes(c) for c in open_log(bad))


def test_stopping_early_stops_the_reader_thread(tmp_path):
    path = tmp_path / "big.log.gz"
    path.write_bytes(gzip.compress(b"x" * 40_000_000, 1))  # far more than the read-ahead holds
    before = readers()
    with open_stream(path) as stream:
        assert stream.read(10) == b"x" * 10
        assert readers() == before + 1
    deadline = time.monotonic() + 5
    while readers() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert readers() == before
