"""The benchmark's generated Jenkins log is realistic enough to exercise everything: the scanner finds the one
failure near the end, in the right stage and node, ignores the noise, and agrees with grep on the anchors."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench.triage_throughput import ere, generate
from earthly_doctor.triage import PROXY_UNREACHABLE, Scanner, open_log


def test_generated_log_has_one_failure_in_the_image_stage(tmp_path):
    path = tmp_path / "jenkins.log"
    generate(path, 2, distinct=4, block_size=64 * 1024)
    scanner = Scanner()
    for chunk in open_log(path, 64 * 1024, reuse=True):
        scanner.feed(chunk)
    scanner.finish()
    assert dict(scanner.counts) == {PROXY_UNREACHABLE: 1}
    m = scanner.first(PROXY_UNREACHABLE)
    assert (m.stage, m.node, m.fields["port"], m.timestamp) == ("Image", "agent-7", "35137", "2024-01-22T23:20:55.244Z")
    assert m.line == scanner.lines - 7  # then the pipeline closes and Finished: FAILURE
    if shutil.which("grep"):
        anchors = sorted(a.decode() for a in scanner._anchors)
        grep = subprocess.run(["grep", "-E", "-c", ere(anchors), str(path)], capture_output=True, text=True,
                              env={"LC_ALL": "C"}, timeout=60)
        # The benchmark's grep must select exactly the lines that hold an anchor, counted here independently.
        lines = path.read_bytes().split(b"\n")
        anchored = sum(1 for line in lines if any(a.encode() in line for a in anchors))
        assert anchored > scanner.counts[PROXY_UNREACHABLE]  # the noise holds anchors too: grep has work to do
        assert int(grep.stdout) == anchored
    else:  # pragma: no cover
        pytest.skip("no grep")
