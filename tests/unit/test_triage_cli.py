"""`earthly-doctor triage` and `diagnose --log` end to end through the CLI: the sample logs' verdicts, formats,
exit codes, inputs (gzip, stdin, CRLF, invalid UTF-8), user signatures, and the ED160 check and verdict."""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from earthly_doctor.cli.app import build_app
from earthly_doctor.context import Context, Options
from earthly_doctor.model import Evidence, Finding, Status
from earthly_doctor.verdict import decide

LOGS = Path(__file__).resolve().parents[2] / "examples" / "logs"
SCHEMA = Path(__file__).resolve().parents[2] / "diagnose" / "schema" / "report-v1.json"

# file -> (verdict cause, first finding's signature, exit code, port)
EXPECTED = {
    "issue-3736-jenkins.log": ("proxy-unreachable", "proxy-unreachable", 1, 35137),
    "raw-jenkins-consolenotes-crlf.log": ("proxy-unreachable", "proxy-unreachable", 1, 35137),
    "issue-3769-wsl-spaces.log": ("proxy-unreachable", "proxy-unreachable", 1, 34661),
    "issue-4265.log": ("proxy-unreachable", "proxy-unreachable", 1, 42099),
    "space-ros-240-containerd.log": ("proxy-unreachable", "proxy-unreachable", 1, 46171),
    "buildkitd-8371.log": ("proxy-unreachable", "buildkitd-port-refused", 1, 8371),
    "issue-4220-proxy-startup-failed.log": ("no-known-failure", "proxy-startup-failed", 0, None),
    # The build visibly failed (Earthly's `Error:`), so it is never exit 0; the pull's own reason is a look-alike.
    "lookalike-pulling-from.log": ("unknown", "build-failed", 1, None),
    "healthy.log": ("no-known-failure", None, 0, None),
}


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(build_app(), list(args), input=input, env={"NO_COLOR": "1", "COLUMNS": "100"})


def report(*args: str, input: bytes | None = None) -> tuple[dict, int]:
    result = run("triage", *args, "--format", "json", input=input)
    data = json.loads(result.stdout)
    if SCHEMA.exists():
        from tests.helpers.schema import assert_valid_report

        assert_valid_report(data)
    return data, result.exit_code


def test_every_sample_log_is_present():
    assert sorted(EXPECTED) == sorted(p.name for p in LOGS.glob("*.log"))


@pytest.mark.parametrize("name", EXPECTED)
def test_sample_logs_are_classified(name):
    cause, signature, code, port = EXPECTED[name]
    data, exit_code = report(str(LOGS / name))
    assert data["command"] == "triage"
    assert data["verdict"]["cause"] == cause
    assert exit_code == code
    first = data["findings"][0]
    assert first["code"] == "ED160" and first.get("signature") == signature
    assert first.get("port") == port


def test_the_3736_finding_carries_the_design_fields():
    data, _ = report(str(LOGS / "issue-3736-jenkins.log"))
    (f,) = data["findings"]
    assert {k: f[k] for k in ("signature", "line", "timestamp", "stage", "port", "session")} == {
        "signature": "proxy-unreachable", "line": 24, "timestamp": "2024-01-22T23:20:55.244Z", "stage": "Image",
        "port": 35137, "session": "jwd728vcbn4ni32eu360wnxmi",
    }
    assert f["store"] == "classic" and f["image_index"] == 0 and f["node"] == "docker-agent-1"
    assert data["verdict"]["remedies"][0] == "disable-proxy" and data["verdict"]["confidence"] == "likely"


def test_8371_does_not_offer_the_proxy_remedies():
    data, _ = report(str(LOGS / "buildkitd-8371.log"))
    assert "pinned-port" not in data["verdict"]["remedies"] and "disable-proxy" not in data["verdict"]["remedies"]
    assert "8371" in data["verdict"]["summary"]


def test_plain_text_reads_well_in_ci():
    result = run("triage", str(LOGS / "issue-3736-jenkins.log"))
    out = result.stdout
    assert result.exit_code == 1 and "\x1b" not in out
    assert out.startswith("Verdict: proxy-unreachable (likely)")
    assert "1. Disable Earthly's registry proxy [disable-proxy]" in out
    assert f"at {LOGS / 'issue-3736-jenkins.log'}:24, stage Image" in out
    assert all(len(line) < 400 for line in out.splitlines())


def test_several_logs_gzip_stdin_crlf_and_invalid_utf8(tmp_path):
    gz = tmp_path / "build.log.gz"
    gz.write_bytes(gzip.compress((LOGS / "issue-4265.log").read_bytes()))
    data, code = report(str(gz), str(LOGS / "healthy.log"))
    assert code == 1 and [f["log"] for f in data["findings"]] == [str(gz), str(LOGS / "healthy.log")]
    raw = (LOGS / "space-ros-240-containerd.log").read_bytes().replace(b"\n", b"\r\n")
    data, _ = report("-", input=b"\xff\xfe junk \xc3\x28\r\n" + raw)
    assert data["findings"][0]["store"] == "containerd" and data["findings"][0]["log"] == "<stdin>"
    data, _ = report("-", input=gzip.compress(raw))
    assert data["verdict"]["cause"] == "proxy-unreachable"


def test_exit_code_options_and_output_files(tmp_path):
    log = str(LOGS / "issue-3736-jenkins.log")
    assert run("triage", log, "--exit-zero").exit_code == 0
    assert run("triage", log, "--fail-on", "never").exit_code == 0
    assert run("triage", str(LOGS / "lookalike-pulling-from.log"), "--fail-on", "warn").exit_code == 1
    out = tmp_path / "r.json"
    result = run("triage", log, "--output", f"json:{out}")
    assert result.exit_code == 1 and json.loads(out.read_text())["verdict"]["cause"] == "proxy-unreachable"


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    for args in (["triage", str(tmp_path / "missing.log")], ["triage", str(tmp_path)],
                 ["triage", str(LOGS / "healthy.log"), "--format", "yaml"],
                 ["triage", str(LOGS / "healthy.log"), "--signatures", str(tmp_path / "nope")]):
        result = run(*args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.output
        assert result.stderr.startswith("earthly-doctor: error: ") and result.stderr.count("\n") == 1


def test_user_signatures_from_a_folder(tmp_path):
    sigs = tmp_path / "sigs"
    sigs.mkdir()
    (sigs / "oom.toml").write_text(textwrap.dedent("""
        id = "buildkitd-oom"
        title = "buildkitd was OOM-killed"
        meaning = "The kernel killed buildkitd."
        kind = "failure"
        status = "fail"
        severity = "high"
        anchors = ["Out of memory: Killed process"]
        pattern = 'Out of memory: Killed process (?P<pid>\\d+) \\(buildkitd\\)'
        summary = "buildkitd (pid {pid}) was killed for memory"
        [fields]
        pid = "pid"
        [[fixtures.match]]
        text = "kernel: Out of memory: Killed process 4242 (buildkitd)\\n"
        expect = { pid = "4242" }
    """))
    log = tmp_path / "b.log"
    log.write_text("[Pipeline] { (Build)\nkernel: Out of memory: Killed process 99 (buildkitd)\n")
    data, code = report(str(log), "--signatures", str(sigs))
    assert code == 1 and data["findings"][0]["signature"] == "buildkitd-oom"
    assert data["findings"][0]["summary"] == "buildkitd (pid 99) was killed for memory"
    assert data["findings"][0]["stage"] == "Build" and data["verdict"]["cause"] == "unknown"


def test_diagnose_log_joins_triage_with_the_live_report():
    result = run("diagnose", "--only", "ED160", "--log", str(LOGS / "issue-3736-jenkins.log"), "--format", "json")
    data = json.loads(result.stdout)
    assert data["command"] == "diagnose" and result.exit_code == 1
    assert [f["code"] for f in data["findings"]] == ["ED160"]
    assert data["verdict"]["cause"] == "proxy-unreachable"
    assert run("diagnose", "--log", "/nonexistent/build.log").exit_code == 2


def test_ed160_is_listed_explained_and_skips_without_a_log():
    assert "ED160" in run("checks").stdout
    assert "pull ping error" in run("explain", "ED160").stdout
    from earthly_doctor.checks.ed160_build_log import BuildLog

    import earthly_doctor.probes.providers  # noqa: F401 -- registers `build_logs`, the fact ED160 reads

    [skipped] = BuildLog().run(Context(options=Options(timeout=5.0)))
    assert skipped.status == Status.SKIP
    # The real provider triages the logs named in the options (what `diagnose --log` sets).
    findings = BuildLog().run(Context(options=Options(timeout=5.0, logs=(str(LOGS / "issue-4265.log"),))))
    assert findings[0].status == Status.FAIL and findings[0].extra["port"] == 42099


def _log_finding(signature, cause, status=Status.FAIL, kind="failure", remedies=()):
    return Finding("ED160", "t", status, summary="s", remedies=list(remedies),
                   extra={"signature": signature, "cause": cause, "kind": kind, "log": "b.log", "line": 3})


def test_log_verdicts():
    assert decide([]).cause == "unknown"
    assert decide([Finding("ED160", "t", Status.SKIP)]).cause == "unknown"
    healthy = Finding("ED160", "t", Status.PASS, extra={"log": "b.log"})
    assert decide([healthy]).cause == "no-known-failure"
    info = _log_finding("proxy-disabled", None, Status.PASS, "info")
    startup = _log_finding("proxy-startup-failed", None, Status.WARN, "warning")
    assert decide([info, startup]).cause == "no-known-failure"
    docker = _log_finding("docker-unreachable", "docker-unreachable")
    assert decide([docker, info]).cause == "docker-unreachable"
    proxy = _log_finding("proxy-unreachable", "proxy-unreachable", remedies=["disable-proxy", "host-network"])
    v = decide([docker, proxy])
    assert (v.cause, v.confidence.value, v.remedies[0]) == ("proxy-unreachable", "likely", "disable-proxy")
    captured = _log_finding("daemon-proxy-captures-loopback", "daemon-proxy-captures-loopback",
                            remedies=["daemon-no-proxy", "disable-proxy"])
    v = decide([captured, docker])
    assert (v.cause, v.remedies) == ("daemon-proxy-captures-loopback", ["daemon-no-proxy", "disable-proxy"])
    assert decide([_log_finding("insecure-loopback-removed", "insecure-loopback-removed")]).cause == "insecure-loopback-removed"
    crash = _log_finding("buildkitd-crashed", None)
    assert decide([crash]).cause == "unknown"


def test_live_checks_come_first():
    canary = Finding("ED120", "canary", Status.PASS, summary="reached")
    proxy = _log_finding("proxy-unreachable", "proxy-unreachable")
    assert decide([canary, proxy]).cause == "healthy"
    refused = Finding("ED120", "canary", Status.FAIL, summary="refused", evidence=[Evidence("port", 1, "x")])
    assert decide([refused, proxy]).cause == "proxy-unreachable-bridge-container"
