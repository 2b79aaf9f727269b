"""`earthly-doctor jenkins triage` end to end against the stand-in Jenkins (tests/harness/fake_jenkins.py)."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from earthly_doctor.cli import main
from tests.helpers.native_formats import junit_cases
from tests.helpers.schema import assert_valid_report
from tests.harness.fake_jenkins import Build, FakeJenkins, Stage, Step, earthly_step, filler, pipeline_build

TOKEN = "11e4f7c2a9b8d3e6f0a1b2c3d4e5f6a7b8"
JOB = "org/repo/feature%2Fx"  # a multibranch branch `feature/x` inside folder `org`


@pytest.fixture
def env(monkeypatch, tmp_path):
    """No credentials but the ones a test sets; HOME points at an empty folder so no real ~/.netrc is read."""
    for name in ("JENKINS_URL", "JENKINS_USER", "JENKINS_API_TOKEN", "NETRC", "JENKINS_API_EXTRA_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


@pytest.fixture
def jenkins():
    server = FakeJenkins({"alice": TOKEN, "bob": "bob-token-555"}, no_read={"bob"})
    server.node("agent-1", ["linux", "docker"])
    server.node("agent-2", ["linux", "arm64"])
    job = server.job(JOB)
    for n in range(1, 7):
        job.add(pipeline_build(n, fail=n != 4, node=f"agent-{1 + n % 2}", size=120_000, wfapi=n % 3 != 0,
                               version="v0.8.15" if n < 5 else "v0.8.16"))
    server.job("plain").add(pipeline_build(1, fail=True, size=2_000))
    with server:
        yield server


def login(env, server: FakeJenkins, user: str = "alice", token: str = TOKEN) -> None:
    env.setenv("JENKINS_URL", server.url)
    env.setenv("JENKINS_USER", user)
    env.setenv("JENKINS_API_TOKEN", token)


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["jenkins", "triage", *args])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def one_line_error(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("earthly-doctor: error: "), err
    assert needle in lines[0], err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------------------ happy paths


def test_last_failed_build_by_default_with_credentials_on_every_request(env, jenkins, capsys):
    login(env, jenkins)
    code, out, err = run(capsys, JOB, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    (finding,) = [f for f in report["findings"] if f["status"] == "fail"]
    assert finding["code"] == "ED160" and finding["signature"] == "proxy-unreachable"
    assert finding["build"] == 6 and finding["url"].endswith("/job/org/job/repo/job/feature%252Fx/6/")
    assert finding["port"] in (35137, "35137")
    assert report["verdict"]["cause"] == "proxy-unreachable"
    assert report["jenkins"]["user"] == "alice" and report["jenkins"]["version"] == "2.516.3"
    # whoami goes first and alone; nothing goes out without credentials, and no crumb is asked for (the server has a
    # crumb issuer; Jenkins checks crumbs on POSTs only).
    paths = [p for _, p, _ in jenkins.requests]
    assert paths[0].startswith("/me/api/json") and "/crumbIssuer/api/json" not in paths
    assert all(method == "GET" for method, _, _ in jenkins.requests)
    assert all(auth for _, _, auth in jenkins.requests)


def test_bad_credentials_cost_one_failed_login(env, jenkins, capsys):
    """whoami goes alone: a directory behind Jenkins (LDAP, Active Directory) may lock an account after a few failed
    logins, so a run with a wrong token must not send one per request it would have in flight."""
    login(env, jenkins, token="11" + "0" * 32)
    code, _, err = run(capsys, JOB, "--last", "6")
    one_line_error(code, err, "whoami")
    assert [p for _, p, _ in jenkins.requests] == ["/me/api/json?depth=0"]


def test_whoami_goes_alone_first_when_auth_takes_a_request_to_resolve(env, jenkins, capsys, monkeypatch):
    """With Kerberos installed python-jenkins has two ways to authenticate and tries them with requests of its own
    (its `_maybe_add_auth`): until whoami has resolved auth, `get_version` would go out without credentials, so
    nothing else is asked before whoami's answer. A stand-in for requests_kerberos whose auth adds nothing (so
    python-jenkins falls back to Basic, as with a server that does not speak Negotiate)."""
    import types

    import jenkins as python_jenkins
    import requests

    class NoKerberos(requests.auth.AuthBase):
        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            return request

    monkeypatch.setattr(python_jenkins, "requests_kerberos", types.SimpleNamespace(HTTPKerberosAuth=NoKerberos))
    login(env, jenkins)
    code, out, err = run(capsys, JOB, "--last", "3", "--format", "json")
    assert code == 1, err
    assert json.loads(out)["jenkins"]["version"] == "2.516.3"
    paths = [p for _, p, _ in jenkins.requests]
    whoami = next(i for i, p in enumerate(paths) if p.startswith("/me/api/json"))
    assert whoami > 0 and all(p == "/api/json" for p in paths[:whoami])  # python-jenkins' own auth probes
    assert all(auth for _, _, auth in jenkins.requests[whoami:])  # everything after whoami carries credentials
    assert "/crumbIssuer/api/json" not in paths


def test_wfapi_names_the_failed_stage_and_the_tail_is_enough(env, jenkins, capsys):
    login(env, jenkins)
    code, out, _ = run(capsys, JOB, "5", "--format", "json")
    finding = json.loads(out)["findings"][0]
    assert code == 1 and finding["stage"] == "Image" and finding["node"] == "agent-2"
    assert finding["earthly_version"] == "v0.8.16" and finding["labels"] == ["linux", "arm64"]
    paths = [p for _, p, _ in jenkins.requests]
    assert any("/5/wfapi/describe" in p for p in paths)
    assert not any("/execution/node/" in p for p in paths)  # the failure was in the build log's tail
    assert not any(p.endswith("/5/consoleText") for p in paths)


def test_failed_step_log_when_another_branch_wrote_the_tail(env, jenkins, capsys):
    build = pipeline_build(1, fail=True, size=150_000)  # the failure lies past the head and before the tail
    build.stages.append(Stage("Docs", [Step("sh", filler(700_000), script="make docs")]))  # kept writing after
    jenkins.job("parallel").add(build)
    login(env, jenkins)
    code, out, _ = run(capsys, "parallel", "1", "--format", "json")
    finding = json.loads(out)["findings"][0]
    assert code == 1 and finding["stage"] == "Image" and "step 6 log" in finding["log"]
    paths = [p for _, p, _ in jenkins.requests]
    assert any("/parallel/1/execution/node/5/wfapi/describe" in p for p in paths)
    assert any("/parallel/1/execution/node/6/log/logText/progressiveText" in p for p in paths)
    assert not any(p.endswith("/parallel/1/consoleText") for p in paths)


def test_freestyle_build_on_the_built_in_node(env, jenkins, capsys):
    jenkins.job("freestyle").add(Build(3, "FAILURE", node="Built-In Node", freestyle_log=earthly_step(fail=True, size=1_000)))
    login(env, jenkins)
    code, out, _ = run(capsys, "freestyle", "--format", "json")
    finding = json.loads(out)["findings"][0]
    assert code == 1 and finding["node"] == "Built-In Node" and finding["labels"] == ["built-in"]
    assert finding["stage"] is None


def test_build_url_form_and_folder_names(env, jenkins, capsys):
    login(env, jenkins)
    env.delenv("JENKINS_URL")
    code, out, err = run(capsys, jenkins.job_url(JOB) + "2/", "--format", "json")
    assert code == 1, err
    finding = json.loads(out)["findings"][0]
    assert finding["build"] == 2 and finding["job"] == JOB
    assert any("/job/org/job/repo/job/feature%252Fx/2/api/json" in p for _, p, _ in jenkins.requests)


def test_last_n_summary_by_node_label_version_and_dates(env, jenkins, capsys, tmp_path):
    login(env, jenkins)
    code, out, err = run(capsys, JOB, "--last", "6", "--output", f"json:{tmp_path / 'r.json'}",
                         "--output", f"junit:{tmp_path / 'r.xml'}")
    assert code == 1, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert_valid_report(report)
    summary = report["summary"]
    cases, _ = junit_cases((tmp_path / "r.xml").read_text())
    assert [c["kind"] for c in cases] == ["failure"] * 5  # one test case per failed build (a green one has none)
    assert len({c["name"] for c in cases}) == 5
    assert summary["builds"] == 6 and summary["failed"] == 5 and summary["green"] == 1
    (row,) = summary["signatures"]
    assert row["signature"] == "proxy-unreachable" and row["failed_builds"] == 5 and not row["red_herring"]
    assert row["nodes"] == {"agent-2": 3, "agent-1": 2}
    assert row["labels"] == {"linux": 5, "arm64": 3, "docker": 2}
    assert row["earthly_versions"] == {"v0.8.15": 3, "v0.8.16": 2}
    assert row["first_seen"]["build"] == 1 and row["last_seen"]["build"] == 6
    assert row["first_seen"]["timestamp"] == "2024-01-01T01:00:00Z"
    # One request lists the builds with their result and time; no per-build api/json.
    paths = [p for _, p, _ in jenkins.requests]
    assert sum("allBuilds" in p for p in paths) == 1 and not any(re.search(r"/\d+/api/json", p) for p in paths)
    # The text report carries the same table.
    assert "proxy-unreachable" in out and "agent-2 (3)" in out and "Builds read: 6 (5 failed, 1 green" in out


def test_red_herring_when_the_signature_is_also_in_green_builds(env, jenkins, capsys):
    job = jenkins.job("herring")
    job.add(pipeline_build(1, fail=True, size=5_000))
    job.add(pipeline_build(2, fail=False, herring_retry=True, size=5_000, eol=b"\r\n"))  # retried, then green
    login(env, jenkins)
    code, out, _ = run(capsys, "herring", "--last", "2", "--format", "json")
    report = json.loads(out)
    (row,) = report["summary"]["signatures"]
    assert row["red_herring"] and row["green_builds"] == 1 and row["failed_builds"] == 1
    assert {f["status"] for f in report["findings"]} == {"warn"}
    assert all(f["red_herring"] for f in report["findings"])
    assert report["verdict"]["cause"] == "no-known-failure"
    assert code == 0  # warn is below the default --fail-on fail
    # The green build's whole log was streamed through consoleText (CRLF lines kept) and still matched.
    assert any(p.endswith("/herring/2/consoleText") for _, p, _ in jenkins.requests)


def test_crlf_log_through_progressive_text(env, jenkins, capsys):
    jenkins.job("windows").add(pipeline_build(3, fail=True, size=400_000, eol=b"\r\n", wfapi=False))
    login(env, jenkins)
    code, out, _ = run(capsys, "windows", "--format", "json")
    finding = json.loads(out)["findings"][0]
    assert code == 1 and finding["signature"] == "proxy-unreachable"
    assert finding["session"] == "jwd728vcbn4ni32eu360wnxmi"
    # A 400 kB log is read as head + tail: two progressiveText requests, the second from near the end.
    starts = [int(p.rsplit("start=", 1)[1]) for _, p, _ in jenkins.requests if "progressiveText" in p]
    assert starts[0] == 0 and starts[1] > 100_000


def test_gzip_encoded_logs(env, capsys):
    server = FakeJenkins({"alice": TOKEN}, gzip=True)
    server.job("z").add(pipeline_build(1, fail=True, size=900_000))
    server.job("z").add(pipeline_build(2, fail=False, herring_retry=True, size=900_000))
    with server:
        login(env, server)
        code, out, _ = run(capsys, "z", "--last", "2", "--format", "json")
    (row,) = json.loads(out)["summary"]["signatures"]
    assert row["failed_builds"] == 1 and row["green_builds"] == 1 and code == 0


def test_running_build_followed_until_complete(env, jenkins, capsys):
    jenkins.job("live").add(pipeline_build(7, fail=True, size=3_000, running_polls=9))
    login(env, jenkins)
    code, out, err = run(capsys, "live", "7", "--wait", "10", "--format", "json")
    assert code == 1, err
    finding = json.loads(out)["findings"][0]
    assert finding["signature"] == "proxy-unreachable"
    starts = [int(p.rsplit("start=", 1)[1]) for _, p, _ in jenkins.requests if "/live/7/logText/progressiveText" in p]
    assert len(starts) >= 9 and starts == sorted(starts) and starts[0] == 0  # X-Text-Size became the next start


def test_running_build_without_wait_is_reported_as_running(env, jenkins, capsys):
    jenkins.job("live").add(pipeline_build(8, fail=True, size=3_000, running_polls=9))
    login(env, jenkins)
    code, out, _ = run(capsys, "live", "8", "--format", "json")
    finding = json.loads(out)["findings"][0]
    assert code == 0 and finding["status"] == "skip" and finding["title"] == "Build still running"


def test_run_deadline_bounds_many_builds(env, jenkins, capsys):
    jenkins.slow[r"/logText/progressiveText$"] = 1.0
    login(env, jenkins)
    began = time.monotonic()
    code, out, _ = run(capsys, JOB, "--last", "6", "--workers", "2", "--timeout", "0.5", "--format", "json")
    assert time.monotonic() - began < 5
    report = json.loads(out)
    statuses = [f["status"] for f in report["findings"]]
    assert "error" in statuses or "skip" in statuses  # builds the deadline cut short are said so, not passed
    assert all(f["summary"] for f in report["findings"])


# ------------------------------------------------------------------------------------------------ failures


def test_bad_token_is_one_line_401(env, jenkins, capsys):
    login(env, jenkins, token="wrong-token-1234567")
    code, out, err = run(capsys, JOB)
    one_line_error(code, err, "authentication failed (401) for user alice")
    assert "wrong-token-1234567" not in out + err


def test_missing_permission_is_one_line_403(env, jenkins, capsys):
    login(env, jenkins, user="bob", token="bob-token-555")
    code, _, err = run(capsys, JOB)
    one_line_error(code, err, "permission denied (403) for user bob")


def test_anonymous_without_read_is_403(env, jenkins, capsys):
    env.setenv("JENKINS_URL", jenkins.url)
    code, _, err = run(capsys, JOB)
    one_line_error(code, err, "permission denied (403) for user anonymous")


def test_unknown_job_and_unknown_build(env, jenkins, capsys):
    login(env, jenkins)
    code, _, err = run(capsys, "org/nope")
    one_line_error(code, err, "job org/nope: not found (404)")
    code, _, err = run(capsys, "org/nope", "--last", "3")
    one_line_error(code, err, "builds of org/nope: not found (404)")
    code, _, err = run(capsys, "org/repo", "--last", "3")
    one_line_error(code, err, "job org/repo: is a Folder without builds")
    code, _, err = run(capsys, JOB, "99")
    one_line_error(code, err, "build org/repo/feature%2Fx #99: not found (404)")


def test_timeout_on_a_slow_server(env, jenkins, capsys):
    jenkins.slow[r"^/me/"] = 3.0
    login(env, jenkins)
    began = time.monotonic()
    code, _, err = run(capsys, JOB, "--request-timeout", "0.5")
    one_line_error(code, err, "within 0.5 s (timeout)")
    assert time.monotonic() - began < 2.5


def test_refused_on_a_closed_port(env, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    env.setenv("JENKINS_URL", f"http://127.0.0.1:{port}/")
    env.setenv("JENKINS_USER", "alice")
    env.setenv("JENKINS_API_TOKEN", TOKEN)
    code, _, err = run(capsys, JOB)
    one_line_error(code, err, f"connection to 127.0.0.1:{port} refused")


def test_broken_pipeline_api_still_reads_the_log(env, jenkins, capsys):
    jenkins.status[r"/wfapi/describe$"] = 500
    login(env, jenkins)
    code, out, _ = run(capsys, JOB, "5", "--format", "json")
    finding = json.loads(out)["findings"][0]
    assert code == 1 and finding["signature"] == "proxy-unreachable" and finding["node"] == "agent-2"


def test_wrong_context_path(env, capsys):
    server = FakeJenkins({"alice": TOKEN}, context="jenkins")
    server.job("plain").add(pipeline_build(1, size=1_000))
    with server:
        login(env, server)
        env.setenv("JENKINS_URL", server.url.replace("/jenkins/", "/"))
        code, _, err = run(capsys, "plain")
        one_line_error(code, err, "(404 on me/api/json): check JENKINS_URL, including any context path")
        env.setenv("JENKINS_URL", server.url)
        code, out, err = run(capsys, "plain", "--format", "json")
        assert code == 1 and json.loads(out)["findings"][0]["url"].startswith(server.url), err


def test_tls_failure_is_one_line(env, jenkins, capsys):
    login(env, jenkins)
    env.setenv("JENKINS_URL", jenkins.url.replace("http://", "https://"))  # TLS to a plain-HTTP port
    code, _, err = run(capsys, JOB)
    one_line_error(code, err, f"TLS handshake with 127.0.0.1:{jenkins.port} failed")


def test_malformed_json(env, jenkins, capsys):
    jenkins.malformed.add(r"/6/api/json$")
    login(env, jenkins)
    code, _, err = run(capsys, JOB, "6")
    one_line_error(code, err, "malformed JSON from 127.0.0.1")


def test_log_cut_off_mid_body(env, jenkins, capsys):
    jenkins.cut.add(r"/consoleText$")
    jenkins.job("green").add(pipeline_build(1, fail=False, size=300_000))
    login(env, jenkins)
    code, _, err = run(capsys, "green", "1")
    one_line_error(code, err, "log of green #1: 127.0.0.1")
    assert "broke off" in err


def test_server_error_on_one_build_of_many_is_an_error_finding(env, jenkins, capsys):
    jenkins.status[r"/feature%252Fx/3/logText/progressiveText$"] = 500
    login(env, jenkins)
    code, out, _ = run(capsys, JOB, "--last", "6", "--format", "json")
    report = json.loads(out)
    errors = [f for f in report["findings"] if f["status"] == "error"]
    assert len(errors) == 1 and "server error (500)" in errors[0]["summary"] and errors[0]["build"] == 3
    assert report["summary"]["errors"] == 1 and code == 1


# ------------------------------------------------------------------------------------------------ credentials


def test_netrc_credentials(env, jenkins, capsys, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login alice password {TOKEN}\n")
    netrc.chmod(0o600)
    env.setenv("JENKINS_URL", jenkins.url)
    env.setenv("NETRC", str(netrc))
    code, out, err = run(capsys, "plain", "--format", "json")
    assert code == 1, err
    assert json.loads(out)["jenkins"]["credentials"] == "netrc"


def test_user_without_token_or_netrc_is_a_usage_error(env, jenkins, capsys):
    env.setenv("JENKINS_URL", jenkins.url)
    env.setenv("JENKINS_USER", "alice")
    code, _, err = run(capsys, "plain")
    one_line_error(code, err, "JENKINS_API_TOKEN is not set")


def test_token_never_in_output_or_reports(env, jenkins, capsys, tmp_path):
    login(env, jenkins)
    outputs = []
    for fmt in ("json", "junit", "warnings-ng", "sarif", "markdown", "text"):
        outputs += ["--output", f"{fmt}:{tmp_path / ('report.' + fmt)}"]
    code, out, err = run(capsys, JOB, "--last", "6", "-v", *outputs)
    assert code == 1
    assert TOKEN not in out and TOKEN not in err
    files = list(tmp_path.glob("report.*"))
    assert len(files) == 6
    for path in files:
        text = path.read_text()
        assert "ED160" in text or "proxy-unreachable" in text, path
        assert TOKEN not in text, path
    # Failing runs must not leak it either.
    jenkins.status[r"/api/json"] = 500
    code, out, err = run(capsys, JOB, "-v")
    assert code == 2 and TOKEN not in out + err


def test_credentials_inside_the_url_are_used_but_never_shown(env, jenkins, capsys):
    env.setenv("JENKINS_URL", jenkins.url.replace("http://", f"http://alice:{TOKEN}@"))
    code, out, err = run(capsys, JOB, "--format", "json")
    assert code == 1, err
    assert TOKEN not in out + err and json.loads(out)["jenkins"]["credentials"] == "url"
    env.setenv("JENKINS_URL", f"http://alice:{TOKEN}@127.0.0.1:1/")
    code, out, err = run(capsys, JOB)
    one_line_error(code, err, "refused")
    assert TOKEN not in out + err


def test_extra_headers_are_not_echoed(env, jenkins, capsys):
    """python-jenkins logs JENKINS_API_EXTRA_HEADERS as a warning; a header can carry a token."""
    login(env, jenkins)
    env.setenv("JENKINS_API_EXTRA_HEADERS", f"X-Proxy-Token: {TOKEN}")
    code, out, err = run(capsys, "plain")
    assert code == 1 and TOKEN not in out + err
