"""Readers for the CI-native report formats, each checking what its consumer reads (research/jenkins.md §3).

- `junit_cases(xml)`: the junit plugin's SuiteResult/CaseResult parse (§3.1.2), re-done with xml.etree.
- `wng_issues(text)`: analysis-model's JsonParser keys and types for a `*.json` native file (§3.2).
- `sarif_log(text)`: the OASIS SARIF 2.1.0 schema's required structure for every object earthly-doctor writes.
"""

from __future__ import annotations

import json
from pathlib import Path
import uuid
import xml.etree.ElementTree as ET

import jsonschema


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
            fullDescription=MULTIFORMAT, help=MULTIFORMAT, helpUri={"type": "string"},
            defaultConfiguration=_obj([], level={"enum": ["none", "note", "warning", "error"]}, properties=BAG),
            properties=BAG,
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


# The official OASIS SARIF 2.1.0 schema (errata01), vendored from oasis-tcs/sarif-spec (see its SOURCES.md).
SARIF_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json").read_text()
)


def sarif_log(text: str) -> dict:
    """Valid against the official schema and against the stricter subset; GitHub code scanning's rules hold."""
    log = json.loads(text)
    jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)
    jsonschema.Draft4Validator.check_schema(SARIF_SUBSET)
    jsonschema.Draft4Validator(SARIF_SUBSET, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["fullDescription"]["text"] and rule["help"]["text"], rule["id"]  # GitHub shows both
    for result in log["runs"][0]["results"]:
        assert result["kind"] == "fail" and result["level"] in ("error", "warning")  # GitHub ignores kind
        physical = result["locations"][0]["physicalLocation"]  # GitHub drops a result without one
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        uri = physical["artifactLocation"]["uri"]
        assert "://" not in uri and not uri.startswith("/")  # relative to the repository
        assert physical["region"]["startLine"] >= 1
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        # §3.27.9: a level other than "none" goes with kind "fail" only.
        if result["level"] != "none":
            assert result["kind"] == "fail"
    return log
