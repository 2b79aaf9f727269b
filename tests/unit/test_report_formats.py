"""The CI-native formats, read the way their consumers read them.

- JUnit: what the junit plugin's SuiteResult/CaseResult parse (research/jenkins.md §3.1.2), re-done with xml.etree.
- Warnings NG: the native JSON keys analysis-model's JsonParser reads (§3.2), names and types exactly.
- SARIF 2.1.0: the required structure of the OASIS schema for the objects we emit (strict: no unknown properties).
- Markdown: short, one line per problem, safe in a table.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace

import jsonschema
import pytest

from earthly_doctor import reports
from earthly_doctor.cli.output import emit, parse_outputs
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment
from earthly_doctor.model import Finding, Severity, Status
from earthly_doctor.remedies.catalog import describe
from tests.helpers import samples

NATIVE = ("junit", "warnings-ng", "sarif", "markdown")
ESC_OR_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def test_formats_are_registered_under_the_design_names():
    assert set(NATIVE) | {"text", "json"} <= set(reports.formats())


@pytest.mark.parametrize("fmt", NATIVE)
@pytest.mark.parametrize("name", sorted(samples.ALL))
def test_no_ansi_or_control_characters_in_any_format(fmt, name):
    out = reports.render(fmt, samples.ALL[name]())
    assert not ESC_OR_CONTROL.search(out), repr(ESC_OR_CONTROL.search(out))
    assert out.endswith("\n")


# --- JUnit: the junit plugin's reading -------------------------------------------------------------------------


def junit_cases(xml: str) -> tuple[list[dict], list[ET.Element]]:
    """Like SuiteResult.parse: every <testsuite> at any depth that directly holds <testcase>, then CaseResult fields."""
    root = ET.fromstring(xml)
    assert root.tag in ("testsuites", "testsuite")
    suites = [s for s in root.iter("testsuite") if s.find("testcase") is not None]
    cases = []
    for suite in suites:
        float(suite.get("time", "0").replace(",", ""))
        for case in suite.findall("testcase"):
            failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
            problem = error if error is not None else failure
            details = problem.get("message") if problem is not None else None
            trace = (problem.text or "") if problem is not None else None
            cases.append(
                {
                    "className": case.get("classname") or suite.get("name"),
                    "name": case.get("name"),
                    "duration": float(case.get("time", "0")),
                    "errorDetails": details,
                    "errorStackTrace": trace,
                    "kind": problem.tag if problem is not None else None,
                    "type": problem.get("type") if problem is not None else None,
                    "skipped": skipped is not None,
                    "skippedMessage": skipped.get("message") if skipped is not None else None,
                    "stdout": case.findtext("system-out"),
                    "passed": skipped is None and details is None and trace is None,
                }
            )
    return cases, suites


def test_junit_one_case_per_check_with_failure_error_skip():
    report = samples.failing_report()
    cases, suites = junit_cases(reports.render("junit", report))
    assert len(suites) == 1 and len(cases) == len(report.findings)
    by_code = {c["name"].split()[0]: c for c in cases}

    ed120 = by_code["ED120"]
    assert ed120["kind"] == "failure" and ed120["type"] == "ED120" and not ed120["passed"]
    assert "connection refused" in ed120["errorDetails"]
    assert ed120["className"] == "earthly_doctor.probe"  # UI: package earthly_doctor, class probe
    for rid in ("disable-proxy", "host-network", "pinned-port"):
        assert f"[{rid}]" in ed120["errorStackTrace"]
    assert describe("disable-proxy").how[:40] in ed120["errorStackTrace"]
    assert ed120["duration"] == pytest.approx(0.006)

    assert by_code["ED103"]["kind"] == "error" and "RuntimeError: boom" in by_code["ED103"]["errorStackTrace"]
    assert by_code["ED131"]["skipped"] and by_code["ED131"]["skippedMessage"] == "no earthly-buildkitd container"
    assert by_code["ED110"]["passed"] and "daemon_kind = local" in by_code["ED110"]["stdout"]
    assert by_code["ED140"]["passed"] and by_code["ED140"]["stdout"].startswith("WARNING")


def test_junit_suite_counts_match_cases_and_carry_the_verdict():
    xml = reports.render("junit", samples.failing_report())
    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    for element in (root, suite):
        assert (element.get("tests"), element.get("failures"), element.get("errors"), element.get("skipped")) == ("5", "1", "1", "1")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict.cause"] == "proxy-unreachable-bridge-container"
    assert "verdict: proxy-unreachable-bridge-container (proven)" in suite.findtext("system-out")
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_junit_log_findings_are_named_by_line_and_unique():
    cases, _ = junit_cases(reports.render("junit", samples.triage_report()))
    assert [c["name"] for c in cases] == [
        "ED160 Known failure in the build log (line 120)",
        "ED160 Known failure in the build log (line 480)",
    ]
    assert "at logs/build.log line 120, stage Image" in cases[0]["errorStackTrace"]
    assert "session = sess-jwd728vcbn4ni32eu360wnxmi" in cases[0]["errorStackTrace"]
    twin = samples.failing_report()
    twin.findings.append(replace(twin.findings[1]))
    names = [c["name"] for c in junit_cases(reports.render("junit", twin))[0]]
    assert len(set(names)) == len(names)


def test_junit_empty_report_still_has_a_case():
    cases, _ = junit_cases(reports.render("junit", samples.empty_report()))
    assert len(cases) == 1 and cases[0]["passed"] and cases[0]["name"] == "no-known-failure"


def test_junit_escapes_markup_and_drops_escapes():
    xml = reports.render("junit", samples.failing_report())
    ET.fromstring(xml)  # well-formed XML 1.0 despite <&> and BEL in the evidence
    assert "<&>" in junit_cases(xml)[0][1]["errorStackTrace"]
    assert "\x1b" not in xml and "[31m" not in xml


# --- Warnings NG native JSON --------------------------------------------------------------------------------------

# IssueParser keys read by JsonBaseParser.convertToIssue (research/jenkins.md §3.2), with their JSON types.
WNG_KEYS = {
    "fileName": str, "lineStart": int, "lineEnd": int, "columnStart": int, "columnEnd": int, "lineRanges": list,
    "locations": list, "severity": str, "message": str, "description": str, "category": str, "type": str,
    "packageName": str, "moduleName": str, "origin": str, "reference": str, "fingerprint": str, "id": str,
    "additionalProperties": str,
}
WNG_SEVERITIES = {"ERROR", "HIGH", "NORMAL", "LOW"}


def wng_issues(text: str) -> list[dict]:
    data = json.loads(text)
    assert isinstance(data, dict) and isinstance(data["issues"], list)  # a *.json file: one object with "issues"
    assert set(data) <= {"issues", "_class"}
    for issue in data["issues"]:
        assert set(issue) <= set(WNG_KEYS), set(issue) - set(WNG_KEYS)
        for key, value in issue.items():
            assert isinstance(value, WNG_KEYS[key]) and not isinstance(value, bool), (key, value)
        assert issue["severity"] in WNG_SEVERITIES
        if "id" in issue:
            uuid.UUID(issue["id"])  # the parser rejects anything else
    return data["issues"]


def test_warnings_ng_only_problems_with_mapped_severity():
    issues = wng_issues(reports.render("warnings-ng", samples.failing_report()))
    assert [(i["type"], i["severity"]) for i in issues] == [("ED120", "ERROR"), ("ED103", "NORMAL"), ("ED140", "NORMAL")]
    ed120 = issues[0]
    assert ed120["message"].startswith("ED120: the daemon could not reach 127.0.0.1:35137")
    assert "disable-proxy" in ed120["description"] and "&lt;&amp;&gt;" in ed120["description"]
    assert ed120["category"] == "probe" and "fileName" not in ed120 and "lineStart" not in ed120


def test_warnings_ng_log_findings_carry_file_and_line():
    issues = wng_issues(reports.render("warnings-ng", samples.triage_report()))
    first, second = issues
    assert (first["fileName"], first["lineStart"], first["lineEnd"], first["moduleName"]) == ("logs/build.log", 120, 120, "Image")
    assert "fileName" not in second and second["lineStart"] == 480 and second["moduleName"] == "Push | deploy"
    assert json.loads(first["additionalProperties"])["port"] == 35137


def test_warnings_ng_fingerprint_ignores_per_build_values():
    a, b = samples.triage_report().findings
    issues = wng_issues(reports.render("warnings-ng", samples.triage_report()))
    # Different stage and file: different problems; same signature on another port and line: same problem.
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]
    moved = replace(a, extra={**a.extra, "line": 9, "port": 1, "session": "sess-x", "timestamp": "t"})
    report = samples.triage_report()
    report.findings = [a, moved]
    fps = [i["fingerprint"] for i in wng_issues(reports.render("warnings-ng", report))]
    assert fps[0] == fps[1]


def test_warnings_ng_healthy_and_empty_have_no_issues():
    assert wng_issues(reports.render("warnings-ng", samples.healthy_report())) == []
    assert wng_issues(reports.render("warnings-ng", samples.empty_report())) == []


def test_warnings_ng_severity_table():
    from earthly_doctor.reports.warnings_ng import severity

    def f(status, sev):
        return Finding("ED120", "t", status, sev)

    assert severity(f(Status.FAIL, Severity.CRITICAL)) == "ERROR"
    assert severity(f(Status.FAIL, Severity.MEDIUM)) == "HIGH"
    assert severity(f(Status.FAIL, Severity.LOW)) == "NORMAL"
    assert severity(f(Status.WARN, Severity.HIGH)) == "HIGH"
    assert severity(f(Status.WARN, Severity.INFO)) == "LOW"
    assert severity(f(Status.ERROR, Severity.HIGH)) == "NORMAL"


# --- SARIF 2.1.0 --------------------------------------------------------------------------------------------------


def _obj(required=(), **props):
    schema = {"type": "object", "properties": props, "additionalProperties": False}
    if required:  # draft-04 forbids an empty "required"
        schema["required"] = list(required)
    return schema


BAG = {"type": "object"}
MESSAGE = {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
           "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}, "id": {"type": "string"},
                          "arguments": {"type": "array"}, "properties": BAG}, "additionalProperties": False}
MULTIFORMAT = _obj(["text"], text={"type": "string"}, markdown={"type": "string"}, properties=BAG)
# The required structure of the OASIS SARIF 2.1.0 schema for every object this renderer writes.
SARIF_SUBSET = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    **_obj(
        ["version", "runs"],
        **{"$schema": {"type": "string"}},
        version={"enum": ["2.1.0"]},
        runs={"type": "array", "items": {"$ref": "#/definitions/run"}},
        properties=BAG,
    ),
    "definitions": {
        "run": _obj(
            ["tool"],
            tool=_obj(["driver"], driver={"$ref": "#/definitions/toolComponent"}, properties=BAG),
            invocations={"type": "array", "items": {"$ref": "#/definitions/invocation"}},
            automationDetails=_obj([], id={"type": "string"}, properties=BAG),
            results={"type": "array", "items": {"$ref": "#/definitions/result"}},
            properties=BAG,
        ),
        "toolComponent": _obj(
            ["name"], name={"type": "string"}, version={"type": "string"}, informationUri={"type": "string"},
            rules={"type": "array", "items": {"$ref": "#/definitions/reportingDescriptor"}}, properties=BAG,
        ),
        "reportingDescriptor": _obj(
            ["id"], id={"type": "string"}, name={"type": "string"}, shortDescription=MULTIFORMAT,
            fullDescription=MULTIFORMAT, help=MULTIFORMAT, helpUri={"type": "string"}, properties=BAG,
        ),
        "invocation": _obj(
            ["executionSuccessful"], executionSuccessful={"type": "boolean"},
            toolExecutionNotifications={"type": "array", "items": {"$ref": "#/definitions/notification"}},
            properties=BAG,
        ),
        "notification": _obj(
            ["message"], message=MESSAGE, level={"enum": ["none", "note", "warning", "error"]},
            descriptor={"type": "object", "anyOf": [{"required": ["id"]}, {"required": ["index"]}, {"required": ["guid"]}]},
            properties=BAG,
        ),
        "result": _obj(
            ["message"], ruleId={"type": "string"}, ruleIndex={"type": "integer", "minimum": -1},
            kind={"enum": ["notApplicable", "pass", "fail", "review", "open", "informational"]},
            level={"enum": ["none", "note", "warning", "error"]}, message=MESSAGE,
            locations={"type": "array", "items": {"$ref": "#/definitions/location"}},
            partialFingerprints={"type": "object", "additionalProperties": {"type": "string"}}, properties=BAG,
        ),
        "location": _obj(
            [], physicalLocation={"$ref": "#/definitions/physicalLocation"},
            logicalLocations={"type": "array", "items": _obj([], name={"type": "string"}, kind={"type": "string"},
                                                             fullyQualifiedName={"type": "string"}, properties=BAG)},
            message=MESSAGE, properties=BAG,
        ),
        "physicalLocation": {
            **_obj([], artifactLocation=_obj([], uri={"type": "string", "format": "uri-reference"}, uriBaseId={"type": "string"}, properties=BAG),
                   region=_obj([], startLine={"type": "integer", "minimum": 1}, endLine={"type": "integer", "minimum": 1},
                               startColumn={"type": "integer", "minimum": 1}, properties=BAG),
                   properties=BAG),
            "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}],
        },
    },
}


def sarif_log(text: str) -> dict:
    log = json.loads(text)
    jsonschema.Draft4Validator.check_schema(SARIF_SUBSET)
    jsonschema.Draft4Validator(SARIF_SUBSET, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        # §3.27.9: a level other than "none" goes with kind "fail" only.
        if result["level"] != "none":
            assert result["kind"] == "fail"
    return log


@pytest.mark.parametrize("name", sorted(samples.ALL))
def test_sarif_structure(name):
    sarif_log(reports.render("sarif", samples.ALL[name]()))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda log: log["runs"][0]["results"][0].update(severity="high"),  # not a SARIF result property
        lambda log: log["runs"][0]["results"][0].pop("message"),
        lambda log: log["runs"][0]["tool"]["driver"].pop("name"),
        lambda log: log["runs"][0]["results"][0].update(level="fatal"),
        lambda log: log.update(version="2.0.0"),
    ],
)
def test_sarif_subset_schema_is_strict(mutate):
    log = json.loads(reports.render("sarif", samples.failing_report()))
    mutate(log)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SUBSET).validate(log)


def test_sarif_results_levels_and_kinds():
    log = sarif_log(reports.render("sarif", samples.failing_report()))
    run = log["runs"][0]
    got = {r["ruleId"]: (r["kind"], r["level"]) for r in run["results"]}
    assert got == {"ED110": ("pass", "none"), "ED120": ("fail", "error"), "ED103": ("review", "none"),
                   "ED131": ("notApplicable", "none"), "ED140": ("fail", "warning")}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["ED103: the check crashed: RuntimeError: boom", "plugin x failed to load"]
    assert run["properties"]["verdict"]["cause"] == "proxy-unreachable-bridge-container"
    ed120 = next(r for r in run["results"] if r["ruleId"] == "ED120")
    assert "disable-proxy" in ed120["message"]["text"]


def test_sarif_log_findings_have_locations():
    run = sarif_log(reports.render("sarif", samples.triage_report()))["runs"][0]
    first, second = run["results"]
    assert first["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "logs/build.log"}, "region": {"startLine": 120}}
    assert second["locations"][0]["logicalLocations"][0]["name"] == "Push | deploy"
    assert first["properties"]["signature"] == "pullping-refused" and first["properties"]["port"] == 35137
    assert len(run["tool"]["driver"]["rules"]) == 1


def test_sarif_uris_are_uri_references():
    report = samples.triage_report()
    report.findings[0].extra["file"] = "/var/lib/jenkins/jobs/my job/builds/7/log"
    report.findings[1].extra["file"] = "logs\\with space.log"
    run = sarif_log(reports.render("sarif", report))["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    assert uris == ["file:///var/lib/jenkins/jobs/my%20job/builds/7/log", "logs/with%20space.log"]


# --- Markdown ------------------------------------------------------------------------------------------------------


def test_markdown_summary_is_short_and_ranked():
    md = reports.render("markdown", samples.failing_report())
    lines = md.splitlines()
    assert lines[0] == "**earthly-doctor diagnose: PROBLEM**: `proxy-unreachable-bridge-container` (proven)"
    ranked = [line for line in lines if re.match(r"^\d\. ", line)]
    assert [re.search(r"\(`([a-z-]+)`\)", line).group(1) for line in ranked] == ["disable-proxy", "host-network", "pinned-port"]
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| Status")]
    assert [r.split("|")[1].strip() for r in rows] == ["FAIL", "ERROR", "WARN"]  # passes and skips are only counted
    assert "5 checks: 1 pass, 1 warn, 1 fail, 1 skip, 1 error" in md
    assert len(lines) < 25


def test_markdown_table_cells_stay_in_their_column():
    md = reports.render("markdown", samples.triage_report())
    rows = [line for line in md.splitlines() if line.startswith("| FAIL")]
    assert len(rows) == 2
    for row in rows:
        assert len(re.split(r"(?<!\\)\|", row)) == 6  # 4 cells between 5 unescaped pipes
    assert "stage Push \\| deploy" in rows[1]


def test_markdown_healthy():
    md = reports.render("markdown", samples.healthy_report())
    assert md.startswith("**earthly-doctor diagnose: OK**: `healthy` (proven)")
    assert "| Status" not in md and "What to do" not in md


# --- the CLI path: --output NAME:PATH writes every native format ---------------------------------------------------


def test_output_specs_write_every_native_format(tmp_path):
    specs = [f"{fmt}:{tmp_path / ('report.' + fmt)}" for fmt in NATIVE]
    outputs = parse_outputs(specs)
    assert [name for name, _ in outputs] == list(NATIVE)
    stdout = io.StringIO()
    terminal = Terminal(Environment(env={"NO_COLOR": "1"}, stdout=stdout, stderr=io.StringIO(), stdout_isatty=False))
    emit(terminal, samples.triage_report(), "markdown", outputs, verbose=False)
    assert stdout.getvalue().startswith("**earthly-doctor triage: PROBLEM**")
    junit_cases((tmp_path / "report.junit").read_text())
    wng_issues((tmp_path / "report.warnings-ng").read_text())
    sarif_log((tmp_path / "report.sarif").read_text())
    assert (tmp_path / "report.markdown").read_text() == stdout.getvalue()
