"""Issue 13's triage rules on the scanner and the findings: the daemon's reason read from the lines after the match
however the bytes arrive, the try-anyway veto, the fallback for a visibly failed build, look-alikes per address."""

from __future__ import annotations

import pytest
from earthly_doctor.triage import Scanner, findings_from_scan, load_signatures
from earthly_doctor.verdict import decide

SIGS = load_signatures()
PPO = "proxy-pull-other-error"
EOF_PULL = (
    "Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    "\t* command failed: docker pull 127.0.0.1:42737/sess-q1w2e3r4t5y6u7i8o9p0asdfg/pullping:img-0: exit status 1: "
    "img-0: Pulling from sess-q1w2e3r4t5y6u7i8o9p0asdfg/pullping\n"
    + "".join(f"{i:012x}: Pulling fs layer\n" for i in range(60))
    + "3f4e5d6c7b8a: Downloading\r3f4e5d6c7b8a: Downloading 40%\n"
    "unexpected EOF: exit status 1\n"
    "ERROR: script returned exit code 1\n"
)


def scan(data: bytes, chunk: int | None = None, lines: bool = False) -> Scanner:
    scanner = Scanner(SIGS)
    if lines:
        for line in data.splitlines(keepends=True):
            scanner.feed_line(line)
    else:
        step = chunk or len(data)
        for i in range(0, len(data), step):
            scanner.feed(data[i:i + step])
    scanner.finish()
    return scanner


@pytest.mark.parametrize("how", ["whole", "chunks-7", "chunks-113", "lines", "no-final-newline"])
def test_the_daemons_reason_is_the_line_that_ends_its_output_however_the_bytes_arrive(how):
    data = EOF_PULL.encode()
    if how == "no-final-newline":
        data = data.replace(b"\nERROR: script returned exit code 1\n", b"")
    scanner = scan(data, chunk=int(how.split("-")[1]) if how.startswith("chunks") else None, lines=how == "lines")
    match = scanner.first(PPO)
    assert match is not None and match.fields["reason"] == "unexpected EOF"
    (finding,) = [f for f in findings_from_scan(scanner, "x.log") if f.extra.get("signature") == PPO]
    assert finding.summary.endswith("failed for another reason: unexpected EOF")


def test_without_an_ending_line_the_first_line_stays_the_reason():
    data = EOF_PULL.split("unexpected EOF")[0].encode()
    match = scan(data).first(PPO)
    assert match is not None and match.fields["reason"] == "img-0: Pulling from sess-q1w2e3r4t5y6u7i8o9p0asdfg/pullping"


def test_the_fallback_names_an_unexplained_failure_and_steps_aside_for_a_named_one():
    findings = findings_from_scan(scan(b"+ make\nError: build target: build main: exit code 2\n"), "a.log")
    assert [f.extra["signature"] for f in findings] == ["build-failed"]
    verdict = decide(findings)  # the one engine; only log findings here
    assert verdict is not None and verdict.cause == "unknown" and "a.log:2" in verdict.summary
    assert "Error: build target" in verdict.summary
    refused = (b"Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
               b"\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit "
               b'status 1: Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: '
               b"connect: connection refused: exit status 1\n")
    findings = findings_from_scan(scan(refused), "b.log")
    assert [f.extra["signature"] for f in findings] == ["proxy-unreachable"]


def test_a_look_alike_is_counted_per_address():
    data = (b"dial tcp 127.0.0.1:5432: connect: connection refused\n" * 2
            + b"dial tcp 127.0.0.1:9090: connect: connection refused\n")
    findings = findings_from_scan(scan(data), "c.log")
    summaries = sorted(f.summary for f in findings)
    assert summaries == [
        "127.0.0.1:5432 refused a connection outside the image export (not the proxy failure) (2 times)",
        "127.0.0.1:9090 refused a connection outside the image export (not the proxy failure)",
    ]


def test_the_try_anyway_veto_covers_only_the_probes_quoted_errors():
    block = (b"auto frontend initialization failed due to failed to autodetect a supported frontend: 1 error occurred:\n"
             b"\t* docker-shell frontend failed to initialize: command failed: docker info: exit status 1: "
             b"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n")
    ids = {m.id for m in scan(block).matches}
    assert "docker-unreachable" not in ids and "frontend-init-failed" in ids
    ids = {m.id for m in scan(block + b"Error: Frontend is not available to perform the build. Is Docker installed "
                                      b"and running?\n").matches}
    assert "docker-unreachable" in ids
    alone = b"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
    assert "docker-unreachable" in {m.id for m in scan(alone).matches}
