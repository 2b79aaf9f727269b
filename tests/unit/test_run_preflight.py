"""Preflight: reading the command line and the proxy setting like Earthly does, and the decision from findings."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from earthly_doctor.cli.app import build_app
from earthly_doctor.commands.preflight import decide, env_lines, parse_command, preflight, proxy_setting
from earthly_doctor.environment import Environment
from earthly_doctor.verdict import decide as decide_verdict
from earthly_doctor.model import Evidence, Finding, Report, Status
import functools
import os
import sys
from earthly_doctor.commands.run import RunRequest, run
from earthly_doctor.stream import run_streaming

VAR = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"


@pytest.mark.parametrize(
    "argv,product,flags,target,exports",
    [
        (["earthly", "+img"], "earthly", [], "+img", True),
        (["/usr/local/bin/earthly", "-P", "--ci", "./sub+build", "--x=1"], "earthly", ["-P", "--ci"], "./sub+build", True),
        (["earth", "--disable-remote-registry-proxy", "+img"], "earthbuild", ["--disable-remote-registry-proxy"], "+img", True),
        (["earthly", "+img", "--disable-remote-registry-proxy"], "earthly", [], "+img", True),
        (["earthly", "--config", "/c.yml", "github.com/x/y+t"], "earthly", ["--config", "/c.yml"], "github.com/x/y+t", True),
        (["earthly", "build", "+img"], "earthly", [], "+img", True),
        (["earthly", "ls"], "earthly", [], None, False),
        (["earthly", "--version"], "earthly", ["--version"], None, False),
        (["make", "image"], None, [], None, None),
    ],
)
def test_parse_command(argv, product, flags, target, exports):
    c = parse_command(argv)
    assert (c.product, c.global_flags, c.target, c.exports) == (product, flags, target, exports)


def test_variables_per_program():
    assert parse_command(["earthly", "+x"]).variables == [VAR]
    assert parse_command(["earth", "+x"]).variables == ["EARTH_DISABLE_REMOTE_REGISTRY_PROXY"]
    assert parse_command(["sh", "-c", "earthly +x"]).variables == [VAR, "EARTH_DISABLE_REMOTE_REGISTRY_PROXY"]


def setting(tmp_path, argv, env=None, dotenv=None):
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    return proxy_setting({"HOME": str(tmp_path), **(env or {})}, tmp_path, parse_command(argv))


@pytest.mark.parametrize(
    "env,enabled",
    [({}, True), ({VAR: ""}, True), ({VAR: "false"}, True), ({VAR: "0"}, True), ({VAR: "true"}, False),
     ({VAR: "1"}, False), ({VAR: "T"}, False), ({VAR: "yes"}, None), ({VAR: "on"}, None)],
)
def test_go_parsebool_semantics(tmp_path, env, enabled):
    assert setting(tmp_path, ["earthly", "+img"], env).enabled is enabled


def test_an_invalid_value_warns(tmp_path):
    s = setting(tmp_path, ["earthly", "+img"], {VAR: "yes"})
    assert "'yes'" in s.warning and "left as it is" in s.warning


def test_dotenv_counts_only_when_the_environment_is_silent(tmp_path):
    assert setting(tmp_path, ["earthly", "+img"], dotenv=f"{VAR}=true\n").enabled is False
    assert setting(tmp_path, ["earthly", "+img"], {VAR: "false"}, dotenv=f"{VAR}=true\n").enabled is True


def test_the_flag_counts_only_before_the_target(tmp_path):
    assert setting(tmp_path, ["earthly", "--disable-remote-registry-proxy", "+img"]).enabled is False
    assert setting(tmp_path, ["earthly", "+img", "--disable-remote-registry-proxy"]).enabled is True


def test_earth_reads_the_earth_prefix_first(tmp_path):
    assert setting(tmp_path, ["earth", "+img"], {"EARTH_DISABLE_REMOTE_REGISTRY_PROXY": "true"}).enabled is False
    assert setting(tmp_path, ["earthly", "+img"], {"EARTH_DISABLE_REMOTE_REGISTRY_PROXY": "true"}).enabled is True


def _report(*findings: Finding) -> Report:
    """The findings with the verdict the engine gives them (preflight reads the engine's cause, never its own)."""
    return Report(list(findings), decide_verdict(list(findings)), "0")


def _f(code: str, status: Status, summary: str = "", **evidence) -> Finding:
    return Finding(code, code, status, summary=summary, evidence=[Evidence(k, v, "test") for k, v in evidence.items()])


def test_refused_canary_disables_the_proxy_with_one_line(tmp_path):
    cmd = parse_command(["earthly", "+img"])
    result = decide(cmd, setting(tmp_path, cmd.argv), _report(_f("ED110", Status.PASS), _f("ED120", Status.FAIL, port=41234)), 5)
    assert result.outcome == "unreachable"
    assert result.variables == {VAR: "true"}
    assert "\n" not in result.line
    assert result.line.startswith("earthly-doctor: the Docker daemon cannot reach 127.0.0.1")
    assert "127.0.0.1:41234" in result.line and "proxy-unreachable-bridge-container" in result.line
    assert result.line.endswith(f"running with {VAR}=true for this run")
    assert env_lines(result) == f"{VAR}=true\n"


def test_an_explicit_false_is_overridden_and_named(tmp_path):
    cmd = parse_command(["earthly", "+img"])
    result = decide(cmd, setting(tmp_path, cmd.argv, {VAR: "false"}), _report(_f("ED120", Status.FAIL, port=1)), 5)
    assert result.variables == {VAR: "true"} and f"overriding {VAR} (environment)" in result.line


def test_a_reachable_canary_changes_nothing_and_says_nothing(tmp_path):
    cmd = parse_command(["earthly", "+img"])
    result = decide(cmd, setting(tmp_path, cmd.argv), _report(_f("ED120", Status.PASS, port=1)), 5)
    assert (result.outcome, result.variables, result.line) == ("reachable", {}, None)
    assert env_lines(result) == ""


def test_a_timeout_runs_the_build_as_is_and_says_so(tmp_path):
    cmd = parse_command(["earthly", "+img"])
    slow = _f("ED120", Status.ERROR, "did not finish within the 5s deadline (--timeout)", timed_out=True)
    result = decide(cmd, setting(tmp_path, cmd.argv), _report(_f("ED110", Status.ERROR, "timed out"), slow), 5)
    assert result.outcome == "timeout" and result.variables == {}
    assert result.line == "earthly-doctor: preflight: the Docker daemon did not answer within 5s; running the build as is"
    answered = decide(cmd, setting(tmp_path, cmd.argv), _report(_f("ED110", Status.PASS), slow), 5)
    assert answered.line == "earthly-doctor: preflight: the canary did not finish within 5s; running the build as is"


def test_no_daemon_runs_the_build_as_is(tmp_path):
    cmd = parse_command(["earthly", "+img"])
    result = decide(cmd, setting(tmp_path, cmd.argv), _report(_f("ED110", Status.FAIL, "no Docker socket at /x"), _f("ED120", Status.SKIP)), 5)
    assert result.outcome == "no-daemon" and result.variables == {}
    assert "no Docker socket at /x" in result.line and result.line.endswith("running the build as is")


@pytest.mark.parametrize(
    "argv,env,why",
    [
        (["earthly", "--ci", "+img"], {}, "no local image export"),
        (["earthly", "+img"], {VAR: "true"}, "already disabled"),
        (["earthly", "--disable-remote-registry-proxy", "+img"], {}, "already disabled"),
        (["earthly", "ls"], {}, "nothing is exported"),
        (["earthly", "+img"], {VAR: "maybe"}, "not a Go bool"),
    ],
)
def test_no_probe_when_the_proxy_would_not_be_used(tmp_path, argv, env, why):
    environment = Environment(env={"HOME": str(tmp_path), **env}, cwd=tmp_path)
    # No checks are given: a probe would find no ED120 and come back "undecided", never "skipped".
    result = preflight(environment, parse_command(argv), checks=[])
    assert result.outcome == "skipped" and why in result.reason
    assert result.variables == {} and result.line is None


def test_run_reads_its_own_options_and_passes_the_rest(monkeypatch):
    """Options after `--` (or after the program) belong to the build, never to us."""
    seen = {}

    def fake_run(request, environment, notify, **_):
        seen["request"] = request

        class R:
            exit_code = 5

        return R()

    monkeypatch.setattr("earthly_doctor.commands.run.run", fake_run)
    result = CliRunner().invoke(build_app(), ["run", "--no-retry", "--", "earthly", "--no-retry", "-P", "+img", "--help"])
    assert result.exit_code == 5, result.output
    assert seen["request"].argv == ["earthly", "--no-retry", "-P", "+img", "--help"]
    assert seen["request"].retry is False and seen["request"].preflight is True
    CliRunner().invoke(build_app(), ["run", "--no-preflight", "earthly", "--no-retry", "+img"])
    assert seen["request"].argv == ["earthly", "--no-retry", "+img"] and seen["request"].retry is True


def test_run_without_a_command_is_a_usage_error():
    result = CliRunner().invoke(build_app(), ["run"])
    assert result.exit_code == 2
    assert "nothing to run" in result.output


def test_preflight_json_when_the_proxy_is_already_off(tmp_path, monkeypatch):
    monkeypatch.setenv(VAR, "true")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(build_app(), ["preflight", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "earthly-doctor/preflight/v1"
    assert data["outcome"] == "skipped" and data["env"] == {}
    assert data["proxy"]["enabled"] is False


def test_preflight_rejects_an_unknown_format():
    result = CliRunner().invoke(build_app(), ["preflight", "--format", "yaml"])
    assert result.exit_code == 2


def test_run_docker_host_reaches_the_build(tmp_path):
    """`run --docker-host URL`: the preflight probes URL, so the build must use URL too, not the default socket."""
    child = tmp_path / "earthly"
    child.write_text(f"#!{sys.executable}\nimport os\nopen({str(tmp_path / 'seen')!r}, 'w').write(os.environ.get('DOCKER_HOST', '-'))\n")
    child.chmod(0o755)
    out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        spawn = functools.partial(run_streaming, out_fd=out, err_fd=out, use_pty=False)
        environment = Environment(env={"PATH": os.environ["PATH"], "DOCKER_HOST": "unix:///elsewhere.sock"}, cwd=tmp_path)
        request = RunRequest([str(child), "+img"], preflight=False, docker_host="tcp://127.0.0.1:1")
        result = run(request, environment, lambda line: None, spawn=spawn, checks=[])
    finally:
        os.close(out)
    assert result.exit_code == 0
    assert (tmp_path / "seen").read_text() == "tcp://127.0.0.1:1"
    assert result.attempts[0].variables == {}  # not mistaken for "the proxy was already disabled"
