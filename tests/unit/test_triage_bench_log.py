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
    # Earthly's `Error:` and Jenkins' `script returned exit code 1` are the visible failure (a fallback signature,
    # dropped from the findings when the cause is named).
    assert dict(scanner.counts) == {PROXY_UNREACHABLE: 1, "build-failed": 2}
    m = scanner.first(PROXY_UNREACHABLE)
    assert (m.stage, m.node, m.fields["port"], m.timestamp) == ("Image", "agent-7", "35137", "2024-01-22T23:20:55.244Z")
    assert m.line == scanner.lines - 7  # then the pipeline closes and Finished: FAILURE
    if shutil.which("grep"):
        anchors = sorted(a.decode() for a in scanner._anchors)
        grep = subprocess.run(["grep", "-E", "-c", ere(anchors), str(path)], capture_output=True, text=True,
                              env={"LC_ALL": "C"}, timeout=60)
        assert int(grep.stdout) > 0
    else:  # pragma: no cover
        pytest.skip("no grep")
