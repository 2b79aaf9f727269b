"""The CI-native formats, read the way their consumers read them.

- JUnit: what the junit plugin's SuiteResult/CaseResult parse (research/jenkins.md §3.1.2), re-done with xml.etree.
- Warnings NG: the native JSON keys analysis-model's JsonParser reads (§3.2), names and types exactly.
- SARIF 2.1.0: the required structure of the OASIS schema for the objects we emit (strict: no unknown properties).
- Markdown: short, one line per problem, safe in a table.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

import jsonschema
import pytest

from earthly_doctor import reports
from earthly_doctor.cli.output import emit, parse_outputs
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment
from earthly_doctor.model import Finding, Severity, Status
from earthly_doctor.remedy_catalog import describe
from tests.helpers import samples
from tests.helpers.native_formats import SARIF_SUBSET, junit_cases, sarif_log, wng_issues

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
    a = samples.triage_report().findings[0]
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


def test_sarif_results_are_only_problems_github_would_show():
    log = sarif_log(reports.render("sarif", samples.failing_report()))
    run = log["runs"][0]
    got = {r["ruleId"]: (r["kind"], r["level"]) for r in run["results"]}
    # The pass (ED110), the skip (ED131) and the crash (ED103) are no alerts: GitHub ignores `kind`.
    assert got == {"ED120": ("fail", "error"), "ED140": ("fail", "warning")}
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["ED120", "ED140"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["ED103: the check crashed: RuntimeError: boom", "plugin x failed to load"]
    assert run["properties"]["checks"] == {"pass": 1, "warn": 1, "fail": 1, "skip": 1, "error": 1}
    assert run["properties"]["verdict"]["cause"] == "proxy-unreachable-bridge-container"
    ed120 = next(r for r in run["results"] if r["ruleId"] == "ED120")
    assert "disable-proxy" in ed120["message"]["text"]
    # A live finding is fixed in the pipeline's definition: that is its location.
    assert ed120["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "Jenkinsfile", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 1}}


def test_sarif_rules_carry_full_description_and_ranked_help():
    rule = sarif_log(reports.render("sarif", samples.failing_report()))["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["fullDescription"]["text"].startswith(rule["shortDescription"]["text"] + ". ")
    assert rule["help"]["text"].splitlines()[0] == "How to fix (best first):"
    assert [line.split("[")[1].split("]")[0] for line in rule["help"]["text"].splitlines()[1:]] == [
        "disable-proxy", "host-network", "pinned-port"]
    assert "`earthly-doctor fix --remedy disable-proxy`" in rule["help"]["markdown"]
    assert rule["defaultConfiguration"] == {"level": "error"}


def test_sarif_log_findings_have_locations():
    run = sarif_log(reports.render("sarif", samples.triage_report()))["runs"][0]
    first, second = run["results"]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "logs/build.log", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 120}}
    assert second["locations"][0]["logicalLocations"][0]["name"] == "Push | deploy"
    assert second["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Jenkinsfile"
    assert first["properties"]["signature"] == "pullping-refused" and first["properties"]["port"] == 35137
    assert len(run["tool"]["driver"]["rules"]) == 1


def test_sarif_uris_are_repository_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = samples.triage_report()
    report.findings[0].extra["file"] = str(tmp_path / "ci" / "my build.log")  # inside the checkout
    report.findings[1].extra["file"] = "logs\\with space.log"
    run = sarif_log(reports.render("sarif", report))["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    assert uris == ["ci/my%20build.log", "logs/with%20space.log"]

    report.findings[0].extra["file"] = "/var/lib/jenkins/jobs/x/builds/7/log"  # outside: GitHub cannot show it
    report.findings[1].extra["file"] = "../elsewhere.log"
    run = sarif_log(reports.render("sarif", report))["runs"][0]
    physical = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    assert [p["artifactLocation"]["uri"] for p in physical] == ["Jenkinsfile", "Jenkinsfile"]
    assert [p["region"]["startLine"] for p in physical] == [1, 1]  # the log's line means nothing in the Jenkinsfile


def test_sarif_from_a_real_diagnose_meets_githubs_rules(tmp_path):
    """`diagnose` against no daemon (ED110 fails, most checks skip): only the failure is a result, with a location."""
    out = tmp_path / "d.sarif"
    argv = [sys.executable, "-m", "earthly_doctor", "diagnose", "--docker-host", "unix:///nonexistent/ed.sock",
            "--timeout", "2", "--format", "json", "--output", f"sarif:{out}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 1, proc.stderr
    run = sarif_log(out.read_text())["runs"][0]
    assert {r["ruleId"] for r in run["results"]} == {"ED110"}
    assert run["properties"]["checks"]["skip"] >= 1


# --- surrogate safety: a path that is not UTF-8 never breaks a renderer --------------------------------------------


SURROGATE_PATH = b"logs/build-\xff\xfe.log".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("fmt", sorted(reports.formats()))
def test_every_renderer_survives_a_path_that_is_not_utf8(fmt):
    report = samples.triage_report()
    report.findings[0].extra["file"] = SURROGATE_PATH
    report.warnings.append(f"could not read {SURROGATE_PATH}")
    text = reports.render(fmt, report)
    text.encode("utf-8")  # strict: no lone surrogate left
    if fmt == "junit":
        junit_cases(text)
        ET.fromstring(text.encode("utf-8"))  # well-formed XML
    elif fmt in ("json", "warnings-ng", "sarif"):
        json.loads(text)
    if fmt == "sarif":
        uri = sarif_log(text)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        # The one sanitiser runs before every renderer and turns each undecodable byte into U+FFFD.
        assert uri == "logs/build-%EF%BF%BD%EF%BF%BD.log"


def test_triage_of_a_log_with_a_non_utf8_name_writes_every_output(tmp_path):
    """The CLI path end to end: argv decoded with surrogate escapes, every --output written, exit 1 (a finding)."""
    from tests.unit.test_report_schema import EARTHLY_FAILURE_LOG

    log = os.path.join(os.fsencode(tmp_path), b"build-\xff.log")
    with open(log, "wb") as f:
        f.write(EARTHLY_FAILURE_LOG.encode())
    outs = [f"{fmt}:{tmp_path / ('r.' + fmt)}" for fmt in NATIVE + ("json",)]
    argv = [sys.executable, "-m", "earthly_doctor", "triage", log]
    for spec in outs:
        argv += ["--output", spec]
    proc = subprocess.run(argv, capture_output=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")
    ET.fromstring((tmp_path / "r.junit").read_bytes())
    wng_issues((tmp_path / "r.warnings-ng").read_text(encoding="utf-8"))
    sarif_log((tmp_path / "r.sarif").read_text(encoding="utf-8"))
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["verdict"]["cause"] == "proxy-unreachable"


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


def test_real_triage_report_in_every_native_format(tmp_path, monkeypatch):
    """A report from the triage command itself (not a sample): file and line reach Warnings NG and SARIF."""
    from earthly_doctor.commands.triage import TriageRequest, triage
    from tests.unit.test_report_schema import EARTHLY_FAILURE_LOG

    monkeypatch.chdir(tmp_path)  # the log is in the checkout, so SARIF may point at it

    log = tmp_path / "build.log"
    log.write_text(EARTHLY_FAILURE_LOG)
    report = triage(TriageRequest(logs=[str(log)]))
    issue = wng_issues(reports.render("warnings-ng", report))[0]
    assert (issue["type"], issue["severity"], issue["lineStart"], issue["moduleName"]) == ("ED160", "ERROR", 7, "Image")
    assert issue["fileName"].endswith("build.log")
    result = sarif_log(reports.render("sarif", report))["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "build.log", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 7}}
    case = junit_cases(reports.render("junit", report))[0][0]
    assert case["kind"] == "failure" and case["name"].endswith("(line 7)")
    assert "disable-proxy" in reports.render("markdown", report)


@pytest.mark.parametrize("line, expected", [(12, 12), ("12", 12), (0, None), (True, None), ("x", None), (None, None)])
def test_locations_accept_only_positive_line_numbers(line, expected):
    from earthly_doctor.reports._native import location

    assert location(Finding("ED160", "t", Status.FAIL, extra={"line": line, "log": "b.log"})).line == expected


def test_native_reports_offer_only_the_remedies_the_verdict_found_for_this_topology():
    """ED120 lists every remedy it may need; pinned-port (unproven 8371) and host-network (a remote daemon) must not
    reappear in JUnit/Warnings NG/SARIF/Markdown when the verdict ruled them out."""
    from earthly_doctor import reports
    from earthly_doctor.model import Confidence, Finding, Report, Verdict
    from earthly_doctor.reports._native import fix_ids

    canary = Finding("ED120", "Daemon reaches this namespace's loopback", Status.FAIL, summary="connection refused",
                     remedies=["disable-proxy", "host-network", "pinned-port"])
    verdict = Verdict("proxy-unreachable-remote-daemon", "remote", Confidence.PROVEN, ["disable-proxy"])
    report = Report([canary], verdict, "0")
    assert fix_ids(canary, report) == ["disable-proxy"]
    for fmt in ("junit", "warnings-ng", "sarif", "markdown"):
        text = reports.render(fmt, report)
        assert "pinned-port" not in text and "host-network" not in text, fmt
    proxy = Finding("ED111", "Daemon HTTP proxy", Status.WARN, summary="proxy", remedies=["daemon-no-proxy"])
    assert fix_ids(proxy, Report([proxy], verdict, "0")) == ["daemon-no-proxy"]  # not topology-bound: kept
