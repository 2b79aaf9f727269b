"""The v1 report envelope (DESIGN §6a) against diagnose/schema/report-v1.json: real `diagnose` runs with fake checks,
round trips through Report.to_dict/from_dict, and violations the schema must catch."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from earthly_doctor.check import Check, CheckDoc
from earthly_doctor.commands.diagnose import DiagnoseRequest, diagnose
from earthly_doctor.context import Context, Options
from earthly_doctor.environment import Environment
from earthly_doctor.model import CAUSES, REMEDY_IDS, Evidence, Report, Status
from earthly_doctor.schema import load
from tests.helpers import samples
from tests.helpers.schema import assert_valid_report, report_errors

DOC = CheckDoc(what="a fake", why="tests", example="-", fix="-")


def _check(code: str, category: str, run) -> Check:
    cls = type(f"Fake{code}", (Check,), {"code": code, "title": f"fake {code}", "category": category, "doc": DOC, "run": run})
    return cls()


def _fail(self, ctx):
    return self.fail("refused", evidence=[Evidence("daemon_error", "connection refused", "fake")],
                     remedies=["disable-proxy", "host-network"])


def _crash(self, ctx):
    raise RuntimeError("boom")


def _needs_fact(self, ctx):
    ctx.fact("missing")  # raises FactError: no provider
    return self.passed("unreachable")


def _log(self, ctx):
    return self.fail("proxy pull refused", signature="pullping-refused", line=42, timestamp=None,
                     stage="Image", port=35137, session="sess-abc")


def _plugin(self, ctx):
    return self.warn("a plugin's warning", remedies=["restart-dockerd"])


def _context() -> Context:
    return Context(env=Environment(env={"NO_COLOR": "1"}), options=Options(timeout=2.0), providers={})


CHECKS = {
    "ED110": lambda: _check("ED110", "docker", lambda self, ctx: self.passed("daemon ok", evidence=[Evidence("daemon_kind", "local", "fake")])),
    "ED120": lambda: _check("ED120", "probe", _fail),
    "ED130": lambda: _check("ED130", "earthly", _crash),
    "ED131": lambda: _check("ED131", "earthly", lambda self, ctx: self.skip("no buildkitd")),
    "ED140": lambda: _check("ED140", "earthly", _needs_fact),
    "ED160": lambda: _check("ED160", "logs", _log),
    "ACME7": lambda: _check("ACME7", "plugin", _plugin),
}


@pytest.mark.parametrize("codes", [["ED110", "ED120"], ["ED110"], list(CHECKS), []], ids=["fail", "healthy", "all", "none"])
def test_diagnose_reports_match_the_schema(codes):
    report = diagnose(_context(), DiagnoseRequest(), checks=[CHECKS[c]() for c in codes])
    data = json.loads(json.dumps(report.to_dict()))  # what --format json writes
    assert_valid_report(data)


def test_diagnose_statuses_cover_every_enum_value():
    report = diagnose(_context(), DiagnoseRequest(), checks=[make() for make in CHECKS.values()])
    statuses = {f["status"] for f in report.to_dict()["findings"]}
    assert statuses == {s.value for s in Status}
    assert report.to_dict()["verdict"]["cause"] == "proxy-unreachable-bridge-container"


@pytest.mark.parametrize("name", sorted(samples.ALL))
def test_round_trip_keeps_the_report_valid_and_equal(name):
    data = samples.ALL[name]().to_dict()
    assert_valid_report(data)
    again = Report.from_dict(json.loads(json.dumps(data))).to_dict()
    assert again == data
    assert_valid_report(again)


def test_schema_is_valid_draft_2020_12_and_in_sync_with_the_model():
    schema = load("report-v1")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$defs"]["cause"]["anyOf"][0]["enum"] == list(CAUSES)
    assert schema["$defs"]["remedyId"]["anyOf"][0]["enum"] == list(REMEDY_IDS)
    assert schema["properties"]["schema"]["const"] == "earthly-doctor/report/v1"
    shipped = Path(__file__).resolve().parents[2] / "diagnose" / "schema" / "report-v1.json"
    assert json.loads(shipped.read_text()) == schema


def _broken(mutate) -> list[str]:
    data = copy.deepcopy(samples.failing_report().to_dict())
    mutate(data)
    return report_errors(data)


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d.update(schema="earthly-doctor/report/v2"), "schema"),
        (lambda d: d.pop("tool"), "(root)"),
        (lambda d: d.pop("findings"), "(root)"),
        (lambda d: d["tool"].pop("version"), "tool"),
        (lambda d: d["findings"][0].update(status="ok"), "findings/0/status"),
        (lambda d: d["findings"][0].update(severity="urgent"), "findings/0/severity"),
        (lambda d: d["findings"][0].update(code="ed120"), "findings/0/code"),
        (lambda d: d["findings"][0].update(code="ED-120"), "findings/0/code"),
        (lambda d: d["findings"][0]["evidence"][0].pop("source"), "findings/0/evidence/0"),
        (lambda d: d["findings"][1]["remedies"].append("Disable Proxy"), "findings/1/remedies/3"),
        (lambda d: d["verdict"].update(cause="broken"), "verdict/cause"),
        (lambda d: d["verdict"].update(confidence="sure"), "verdict/confidence"),
        (lambda d: d["findings"].append({**d["findings"][1], "code": "ED160"}), "findings/5"),  # no signature
        (lambda d: d["findings"].append({**d["findings"][1], "code": "ED160", "signature": "s", "port": 0}), "findings/5/port"),
    ],
)
def test_schema_rejects(mutate, where):
    errors = _broken(mutate)
    assert errors and any(e.startswith(where + ":") for e in errors), errors


def test_findings_may_carry_extra_fields_and_plugin_codes():
    data = samples.failing_report().to_dict()
    data["findings"][0]["anything"] = {"nested": [1, 2]}
    data["findings"][0]["code"] = "ACME12"
    data["added_later"] = True
    assert_valid_report(data)


def test_fact_error_and_crash_become_error_findings_in_the_envelope():
    # ED140's fake reads a fact no provider gives (FactError); ED130's raises.
    report = diagnose(_context(), DiagnoseRequest(), checks=[CHECKS["ED130"](), CHECKS["ED140"]()])
    data = report.to_dict()
    assert [f["status"] for f in data["findings"]] == ["error", "error"]
    assert data["verdict"]["cause"] == "unknown"
    assert_valid_report(data)


EARTHLY_FAILURE_LOG = """\
Started by user admin
[Pipeline] stage
[Pipeline] { (Image)
[Pipeline] sh
+ earthly +image
Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:
\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: \
Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection refused: exit status 1
[Pipeline] }
Finished: FAILURE
"""


@pytest.mark.parametrize("text", [EARTHLY_FAILURE_LOG, "Started by user admin\nFinished: SUCCESS\n"], ids=["failure", "clean"])
def test_triage_reports_match_the_schema(tmp_path, text):
    from earthly_doctor.commands.triage import TriageRequest, triage

    log = tmp_path / "build.log"
    log.write_text(text)
    data = json.loads(json.dumps(triage(TriageRequest(logs=[str(log)])).to_dict()))
    assert_valid_report(data)
    if "refused" in text:
        assert [f["code"] for f in data["findings"]] == ["ED160"] and data["findings"][0]["signature"]
