"""The benchmark's generated logs (bench/log_shapes.py) are realistic enough to exercise everything: the scanner
finds the one failure near the end, in the right stage and node, ignores the noise, and counts exactly what grep
counts, anchor by anchor, with either finder."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench import log_shapes
from earthly_doctor.triage import PROXY_UNREACHABLE, Scanner, open_stream
from earthly_doctor.triage.finders import hyperscan_available

FINDERS = ["python", "hyperscan"] if hyperscan_available() else ["python"]


def grep_count(anchor: str, path) -> int:
    """Lines holding `anchor`, as `grep -F -c` counts them (output captured, so grep reads the whole file)."""
    done = subprocess.run(["grep", "-F", "-c", "--", anchor, str(path)], capture_output=True, text=True,
                          env={"LC_ALL": "C"}, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    return int(done.stdout)


@pytest.mark.parametrize("finder", FINDERS)
@pytest.mark.parametrize("shape", ["jenkins", "refused", "plain"])
def test_generated_log_has_one_failure_and_grep_agrees_on_every_count(tmp_path, shape, finder):
    info = log_shapes.SHAPES[shape]
    path = log_shapes.generate(shape, 2, distinct=4, block_size=64 * 1024, directory=tmp_path)
    scanner = Scanner(finder=finder)
    with open_stream(path) as stream:
        scanner.feed_stream(stream, 64 * 1024)
    scanner.finish()
    # Besides the failure, only the visible `Error:`/`script returned exit code` lines (the build-failed fallback)
    # and the wait loop's look-alikes.
    assert set(scanner.counts) <= {PROXY_UNREACHABLE, "build-failed", "loopback-refused-other"}
    m = scanner.first(PROXY_UNREACHABLE)
    assert scanner.counts[PROXY_UNREACHABLE] == 1
    assert (m.stage, m.node, m.fields["port"], m.timestamp) == (
        log_shapes.STAGE if info.staged else None, log_shapes.NODE if info.staged else None, log_shapes.PORT,
        log_shapes.FAILURE_STAMP if info.stamped else None)
    assert m.line == scanner.lines - (7 if info.staged else 0)  # then the pipeline closes and Finished: FAILURE
    if not shutil.which("grep"):  # pragma: no cover
        pytest.skip("no grep")
    wc = subprocess.run(["wc", "-l", str(path)], capture_output=True, text=True, timeout=60)
    assert scanner.lines == int(wc.stdout.split()[0])
    for anchor, hits in scanner.anchor_hits.items():  # each anchor occurs at most once per line in these logs
        assert hits == grep_count(anchor, path), anchor
    # The wait loop's refusals are the only loopback look-alikes: counted (past the first 50, from the anchor
    # alone) exactly as often as grep finds the line.
    refused = grep_count("dial tcp 127.0.0.1:5432: connect: connection refused", path)
    assert scanner.counts["loopback-refused-other"] == refused and (refused > 100) == (shape == "refused")
