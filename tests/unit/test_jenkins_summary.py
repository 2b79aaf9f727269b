"""The many-build summary and its text table, from build results made by hand (no server)."""

from __future__ import annotations

from earthly_doctor.jenkins.logs import Found
from earthly_doctor.jenkins.scan import is_hit
from earthly_doctor.jenkins.triage import BuildResult, summarise
from earthly_doctor.model import Confidence, Report, Verdict
from earthly_doctor.reports.jenkins_summary import summary_lines
from earthly_doctor.triage import scan_text

FAILURE = (
    "Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    "\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
    'Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection '
    "refused: exit status 1\n"
)


def build(number: int, result: str, node: str, version: str, *, hit: bool, hour: int) -> BuildResult:
    found = [Found(m, "consoleText") for m in scan_text(FAILURE) if is_hit(m)] if hit else []
    return BuildResult("app", number, f"http://ci/job/app/{number}/", result, timestamp=1704067200000 + hour * 3_600_000,
                       node=node, labels=["linux", node], earthly_version=version, found=found)


def test_counts_by_node_label_version_and_first_last_seen_by_time():
    results = [
        build(7, "FAILURE", "a1", "v0.8.15", hit=True, hour=9),  # listed first, seen last
        build(3, "FAILURE", "a2", "v0.8.16", hit=True, hour=2),
        build(5, "FAILURE", "a1", "v0.8.15", hit=True, hour=5),
        build(6, "FAILURE", "a2", "v0.8.15", hit=False, hour=6),
        build(8, "SUCCESS", "a1", "v0.8.15", hit=False, hour=10),
    ]
    summary = summarise(results)
    (row,) = summary["signatures"]
    assert (row["failed_builds"], row["green_builds"], row["red_herring"]) == (3, 0, False)
    assert row["nodes"] == {"a1": 2, "a2": 1} and row["labels"] == {"linux": 3, "a1": 2, "a2": 1}
    assert row["earthly_versions"] == {"v0.8.15": 2, "v0.8.16": 1}
    assert row["first_seen"]["build"] == 3 and row["last_seen"]["build"] == 7
    assert row["first_seen"]["timestamp"] == "2024-01-01T02:00:00Z"
    assert summary["unexplained_builds"] == [6]
    assert (summary["builds"], summary["failed"], summary["green"]) == (5, 4, 1)


def test_a_signature_in_a_green_build_is_a_red_herring_and_explains_nothing():
    results = [build(1, "FAILURE", "a1", "v0.8.15", hit=True, hour=1), build(2, "SUCCESS", "a1", "v0.8.15", hit=True, hour=2)]
    summary = summarise(results)
    (row,) = summary["signatures"]
    assert row["red_herring"] and row["green_builds"] == 1 and summary["unexplained_builds"] == [1]
    report = Report([], Verdict("no-known-failure", "", Confidence.LIKELY), "0", extra={"summary": summary})
    text = "\n".join(summary_lines(report))
    assert "proxy-unreachable *" in text and "red herring" in text and "without a known cause: #1" in text
