"""JUnit XML for the Jenkins `junit` step: one test case per finding (research/jenkins.md §3.1).

The junit plugin reads `testsuite` (name, time, timestamp), `testcase` (classname, name, time), `failure`/`error`
(`message` attribute = details, element text = stack trace) and `skipped` (`message`). So: a failing check is a
`<failure>` whose message is the finding and whose text carries the evidence and the fix, a check that could not run
is an `<error>`, a check that did not apply is `<skipped>`, and a warning passes with the warning in `<system-out>`
(Warnings NG is where warnings belong; a JUnit failure would turn the build UNSTABLE for a warning).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from earthly_doctor.model import Finding, Report, Status
from earthly_doctor.reports._native import detail_lines, location, unique_names, verdict_lines
from earthly_doctor.sanitize import clean

MESSAGE_LIMIT = 1000  # the message attribute is shown as a one-line summary in the test list


def _seconds(ms: int) -> str:
    return f"{max(ms, 0) / 1000:.3f}"


def _case_name(finding: Finding) -> str:
    name = f"{finding.code} {clean(finding.title)}".strip()
    loc = location(finding)
    if loc.line:
        name += f" (line {loc.line})"
    return name


def _classname(finding: Finding, report: Report) -> str:
    # The plugin splits classname at the last dot: package earthly_doctor, class <category>.
    area = (finding.category or report.command or "checks").replace(".", "_").replace(" ", "_")
    return f"earthly_doctor.{area}"


def _case(parent: ET.Element, finding: Finding, name: str, report: Report) -> None:
    case = ET.SubElement(
        parent, "testcase", classname=_classname(finding, report), name=name, time=_seconds(finding.duration_ms)
    )
    message = clean(finding.summary or finding.title, MESSAGE_LIMIT)
    if finding.status == Status.FAIL:
        body = detail_lines(finding, report)
        ET.SubElement(case, "failure", message=message, type=finding.code).text = "\n".join(body)
    elif finding.status == Status.ERROR:
        body = detail_lines(finding, report)
        if finding.detail:
            body += ["", clean(finding.detail)]
        ET.SubElement(case, "error", message=message, type=finding.code).text = "\n".join(body)
    elif finding.status == Status.SKIP:
        ET.SubElement(case, "skipped", message=message)
    else:
        lines = detail_lines(finding, report, with_fix=finding.status == Status.WARN)
        if finding.status == Status.WARN:
            lines.insert(0, "WARNING")
        ET.SubElement(case, "system-out").text = "\n".join(lines)


def render(report: Report, **_: object) -> str:
    findings = report.findings
    counts = {s: sum(1 for f in findings if f.status == s) for s in Status}
    total = max(len(findings), 1)  # an empty report still gets the verdict case below
    attrs = {
        "tests": str(total),
        "failures": str(counts[Status.FAIL]),
        "errors": str(counts[Status.ERROR]),
        "skipped": str(counts[Status.SKIP]),
        "time": _seconds(report.duration_ms),
    }
    root = ET.Element("testsuites", {"name": "earthly-doctor", **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": f"earthly-doctor {report.command}", **attrs})
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("tool.version", report.tool_version),
        ("verdict.cause", report.verdict.cause),
        ("verdict.confidence", report.verdict.confidence.value),
        ("verdict.remedies", ",".join(report.verdict.remedies)),
    ):
        ET.SubElement(props, "property", name=key, value=clean(value))
    if findings:
        for finding, name in zip(findings, unique_names([_case_name(f) for f in findings]), strict=True):
            _case(suite, finding, name, report)
    else:
        # junit refuses files without a test case ("None of the test reports contained any result").
        ET.SubElement(suite, "testcase", classname="earthly_doctor.verdict", name=report.verdict.cause, time="0.000")
    out = verdict_lines(report) + [f"warning: {clean(w)}" for w in report.warnings]
    ET.SubElement(suite, "system-out").text = "\n".join(out)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode", xml_declaration=False).join(
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "\n")
    )
