"""Every place that reads a log scans it with the same one-pass Scanner: `triage` and `diagnose --log` (the
library), `run`'s live output, `bundle`'s excerpts and `jenkins triage`; each finds the failure through the
platform's fastest finder."""

from __future__ import annotations

from typing import Iterator

import pytest

from earthly_doctor.triage import PROXY_UNREACHABLE, load_signatures
from earthly_doctor.triage import scanner as scanner_module
from earthly_doctor.triage.finders import ENV, hyperscan_available

FAIL_PAIR = (
    b"[2024-01-22T23:20:55.244Z] Error: pull ping error: pull ping response: rpc error: code = Unknown desc = "
    b"image pull: 1 error occurred:\n[2024-01-22T23:20:55.244Z] \t* command failed: docker pull "
    b"127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: Error response from daemon: "
    b'Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection refused: exit status 1\n'
)
EXPECTED = "hyperscan" if hyperscan_available() else "python"


@pytest.fixture
def finders_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    monkeypatch.delenv(ENV, raising=False)  # the platform's own choice, whatever the test run forces
    made: list[str] = []
    real = scanner_module.make_finder

    def spy(patterns, choice=None):  # type: ignore[no-untyped-def]
        finder = real(patterns, choice)
        made.append(finder.name)
        return finder

    monkeypatch.setattr(scanner_module, "make_finder", spy)
    scanner_module._layout.cache_clear()  # scanners share one finder per signature set: make each place build it
    yield made
    scanner_module._layout.cache_clear()


def test_triage_and_diagnose_log(tmp_path, finders_made):
    from earthly_doctor.triage.library import triage_findings

    log = tmp_path / "build.log"
    log.write_bytes(b"noise\n" * 1000 + FAIL_PAIR)
    findings = triage_findings([str(log)])
    assert findings[0].extra["signature"] == PROXY_UNREACHABLE and findings[0].extra["line"] == 1002
    assert finders_made == [EXPECTED]


def test_run_live_output(finders_made):
    from earthly_doctor.commands.run import SignatureWatch

    watch = SignatureWatch()
    for i in range(0, len(FAIL_PAIR), 7):  # the child's output arrives in pieces
        watch("stdout", FAIL_PAIR[i : i + 7])
    watch.finish()
    assert watch.match is not None and watch.match.fields["port"] == "35137"
    assert set(finders_made) == {EXPECTED}


def test_bundle_excerpts(tmp_path, finders_made):
    from earthly_doctor.commands.bundle_excerpt import excerpt_log
    from earthly_doctor.redact import Redactor

    log = tmp_path / "build.log"
    log.write_bytes(b"noise\n" * 50 + FAIL_PAIR)
    excerpt = excerpt_log(str(log), 2, load_signatures(), Redactor(), "logs/build.log.excerpt.txt")
    assert excerpt.scanner.seen(PROXY_UNREACHABLE) and excerpt.excerpts >= 1 and "pullping:img-0" in excerpt.text
    assert finders_made == [EXPECTED]


def test_jenkins_triage_logs(finders_made):
    from earthly_doctor.jenkins.scan import Scanning

    scanner = Scanning()()
    scanner.feed(FAIL_PAIR)
    scanner.finish()
    assert scanner.seen(PROXY_UNREACHABLE)
    assert finders_made == [EXPECTED]
