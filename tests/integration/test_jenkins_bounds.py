"""The Jenkins client against hostile servers: the stand-in Jenkins (tests/harness/fake_jenkins.py; a faithful
stand-in because no Jenkins can run here) trickling its answers a few bytes at a time, or sending a 2 GiB JSON body.
A socket timeout alone bounds neither (each read returns in time), so each test asserts the wall time against the
deadline plus slack, and the memory of a subprocess for the huge body."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from earthly_doctor.cli import main
from earthly_doctor.jenkins.bounded import MAX_JSON
from earthly_doctor.jenkins.client import Credentials, JenkinsClient, JenkinsError

from tests.harness.fake_jenkins import AFTER_HEADERS, FakeJenkins, pipeline_build
from tests.integration import test_jenkins_triage as triage_tests
from tests.integration.test_jenkins_triage import TOKEN, login, one_line_error

env = triage_tests.env  # the same fixture: no credentials but the ones a test sets, an empty HOME

JOB = "app"
SLACK = 2.0  # seconds beyond a deadline that process start-up and a loaded 2-core machine may cost


@pytest.fixture
def jenkins():
    server = FakeJenkins({"alice": TOKEN})
    server.job(JOB).add(pipeline_build(1, fail=True, size=400_000))
    with server:
        yield server


def run(capsys, *args: str) -> tuple[int, str, str, float]:
    began = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        main(["jenkins", "triage", *args])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err, time.monotonic() - began


@pytest.mark.parametrize("head", [0, AFTER_HEADERS], ids=["status-line-and-headers", "body"])
def test_a_json_answer_trickled_byte_by_byte_is_cut_at_the_request_timeout(env, jenkins, capsys, head):
    jenkins.trickle[r"/me/api/json$"] = (0.1, head, 1)  # 10 bytes/s: every read returns well within 1 s
    login(env, jenkins)
    code, _, err, took = run(capsys, JOB, "--request-timeout", "1", "--timeout", "60")
    one_line_error(code, err, "within 1 s (timeout")
    assert err.startswith("earthly-doctor: error: whoami: no ")
    assert took < 1 + SLACK, took


def test_the_run_deadline_holds_against_a_trickled_json_answer(env, jenkins, capsys):
    jenkins.trickle[r"/api/json$"] = (0.1, AFTER_HEADERS, 1)
    jenkins.trickle.pop(r"/me/api/json$", None)
    login(env, jenkins)
    # --request-timeout far beyond --timeout: the run's deadline is what must end it.
    code, _, err, took = run(capsys, JOB, "--request-timeout", "30", "--timeout", "2")
    assert code == 2 and "Traceback" not in err, err
    assert "deadline (--timeout)" in err or "within" in err, err
    assert took < 2 + SLACK, took


def test_a_log_trickled_below_the_low_speed_is_cut_as_stalled(env, jenkins, capsys):
    jenkins.trickle[r"/(consoleText|progressiveText)$"] = (0.05, AFTER_HEADERS, 1)  # 20 bytes/s
    login(env, jenkins)
    _, out, err, took = run(capsys, JOB, "--request-timeout", "1", "--timeout", "60", "--format", "json")
    assert "Traceback" not in err
    assert "stalled" in out + err
    assert took < 10, took  # each log request is cut after about one request-timeout window


def test_the_run_deadline_holds_against_a_log_sent_just_fast_enough(env, jenkins, capsys):
    # 6 KB/s: above the low-speed limit, so only the run's deadline can end it; the log would take minutes.
    jenkins.job(JOB).add(pipeline_build(2, fail=True, size=3_000_000))
    jenkins.trickle[r"/(consoleText|progressiveText)$"] = (0.01, AFTER_HEADERS, 64)
    login(env, jenkins)
    code, out, err, took = run(capsys, JOB, "2", "--request-timeout", "1", "--timeout", "3", "--format", "json")
    assert "Traceback" not in err
    assert took < 3 + SLACK, took
    # What was read before the deadline is still scanned and reported, marked incomplete (not an error).
    assert code in (0, 1), err
    report = json.loads(out)
    assert report["summary"]["bytes_read"] > 0


def test_a_huge_json_answer_is_refused_without_reading_it_in_process(jenkins):
    jenkins.huge[r"/job/app/api/json$"] = 2 * 1024**3
    client = JenkinsClient(Credentials(jenkins.url, "alice", TOKEN, "environment"), timeout=5)
    try:
        client.whoami()
        with pytest.raises(JenkinsError) as info:
            client.job(JOB)
    finally:
        client.close()
    assert info.value.kind == "too-large" and f"larger than {MAX_JSON // 2**20} MiB" in str(info.value)
    time.sleep(0.2)
    assert sum(jenkins.bytes_sent.values()) < MAX_JSON + 8 * 1024 * 1024  # the rest was never read (nor sent)


def test_a_2_gib_json_body_costs_no_memory(jenkins, tmp_path):
    """Peak RSS of the CLI in a subprocess, measured by a parent that runs only it."""
    jenkins.huge[r"/api/json$"] = 2 * 1024**3
    jenkins.huge.pop(r"/me/api/json$", None)
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.stderr.write(r.stderr)\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NO_COLOR": "1", "JENKINS_URL": jenkins.url,
           "JENKINS_USER": "alice", "JENKINS_API_TOKEN": TOKEN}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "earthly_doctor", "jenkins", "triage",
                           JOB, "--timeout", "60"], env=env, capture_output=True, text=True, check=False, timeout=120)
    took = time.monotonic() - began
    code, rss = done.stdout.split()
    assert code == "2", done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "larger than" in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert int(rss) < 150 * 1024, f"peak RSS {rss} KiB"
    assert took < 30, took


HOSTILE_STAGE = "Image\x1b]0;pwned\x07\u202e"
HOSTILE_NODE = "agent-1\x1b[2J\x1b[H\x9b1;1H\x08"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "junit", "sarif", "warnings-ng"])
def test_stage_and_node_names_from_the_server_reach_the_output_sanitised(env, capsys, fmt):
    server = FakeJenkins({"alice": TOKEN})
    server.node(HOSTILE_NODE, ["linux\x1b]2;x\x07"])
    server.job("evil").add(pipeline_build(1, fail=True, node=HOSTILE_NODE, stage=HOSTILE_STAGE))
    with server:
        login(env, server)
        code, out, err, _ = run(capsys, "evil", "--format", fmt)
    assert code == 1, err
    for bad in ("\x1b", "\x07", "\x08", "\x9b", "\u202e", "pwned", "[2J"):
        assert bad not in out + err, (bad, fmt)
    assert "Image" in out and "agent-1" in out
