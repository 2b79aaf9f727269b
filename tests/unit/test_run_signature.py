"""Watching a build's output for the unreachable-proxy signature, whatever the chunking, and not for look-alikes."""

from __future__ import annotations

import pytest

from earthly_doctor.commands.run import SignatureWatch

PAIR = (
    b"              output | [----------] 100% exporting outputs\x1b[K\n"
    b"Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    b"\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
    b'Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection '
    b"refused: exit status 1\n"
)


def watch_all(chunks, stream="stdout"):
    w = SignatureWatch()
    for c in chunks:
        w(stream, c)
    w.finish()
    return w.summary()


@pytest.mark.parametrize("size", [1, 7, 64, 4096])
def test_found_whatever_the_chunk_size(size):
    data = b"             +img | --> SAVE IMAGE x\n" * 50 + PAIR
    found = watch_all([data[i : i + size] for i in range(0, len(data), size)])
    assert found is not None
    assert found["port"] == "35137" and found["session"] == "jwd728vcbn4ni32eu360wnxmi"
    assert found["line"] == 53
    assert "127.0.0.1:35137" in found["summary"]


def test_found_on_stderr_and_through_a_pty_crlf():
    assert watch_all([PAIR.replace(b"\n", b"\r\n")], stream="stderr")["port"] == "35137"


def test_found_without_a_final_newline():
    assert watch_all([PAIR.rstrip(b"\n")]) is not None


def test_streams_are_scanned_apart():
    """The pair split over stdout and stderr is not one error: each stream has its own scanner."""
    w = SignatureWatch()
    first, second = PAIR.split(b"\t*", 1)
    w("stdout", first)
    w("stderr", b"\t*" + second)
    w.finish()
    # The refused pull line alone still matches (the context line is optional), on stderr.
    assert w.summary()["port"] == "35137"


@pytest.mark.parametrize(
    "text",
    [
        # buildkitd's fixed port: another signature, another fix
        PAIR.replace(b"35137", b"8371"),
        # the daemon reached the proxy and failed later
        (b"\t* command failed: docker pull 127.0.0.1:42737/sess-q1w2e3r4t5y6u7i8o9p0asdfg/pullping:img-0: exit status 1: "
        b"img-0: Pulling from sess-q1w2e3r4t5y6u7i8o9p0asdfg/pullping\n"),
        # an unrelated refused loopback port
        b"               +test | Error: dial tcp 127.0.0.1:8373: connect: connection refused\n",
        # an ordinary build failure
        b"Error: build target: build main: failed to solve: process \"/bin/sh -c false\" did not complete successfully\n",
    ],
)
def test_look_alikes_do_not_count(text):
    assert watch_all([text]) is None


def test_only_the_first_match_is_kept():
    found = watch_all([PAIR, PAIR.replace(b"35137", b"40000")])
    assert found["port"] == "35137"
