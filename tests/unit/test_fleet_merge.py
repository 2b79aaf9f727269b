"""`merge` and the fleet table: real report files on disk, every format, and the inputs a fleet hands back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from earthly_doctor.commands.diagnose_container import BesideRequest, daemon_access, inner_argv
from earthly_doctor.errors import UsageError
from earthly_doctor.model import SCHEMA_ID
from earthly_doctor.probes.docker_endpoint import find_endpoint
from earthly_doctor.probes.agent import AgentContainer, env_list_to_dict, find_agent
from earthly_doctor.probes.network_mode import Hop, NetworkMode


def report(cause: str, *, agent: str | None = None, node: str | None = None, remedies: list[str] | None = None,
           kind: str = "local", endpoint: str = "unix:///var/run/docker.sock", when: str = "2026-12-04T07:00:00Z",
           summary: str = "") -> dict:
    return {
        "schema": SCHEMA_ID, "tool": {"name": "earthly-doctor", "version": "0.1.0"}, "command": "diagnose",
        "findings": [{"code": "ED110", "title": "Docker daemon reachable", "status": "pass", "severity": "info",
                      "summary": "ok", "evidence": [{"fact": "endpoint", "value": endpoint, "source": "x"},
                                                    {"fact": "daemon_kind", "value": kind, "source": "x"}],
                      "remedies": [], "duration_ms": 1}],
        "verdict": {"cause": cause, "summary": summary or cause, "confidence": "proven", "remedies": remedies or []},
        "subject": {"host": "h", "node": node, "agent": agent}, "generated_at": when,
    }


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "earthly_doctor", "merge", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd)


@pytest.fixture
def fleet_files(tmp_path):
    return [
        write(tmp_path, "a.json", report("healthy", agent="agent container a (1)", node="node-1")),
        write(tmp_path, "b.json", report("proxy-unreachable-bridge-container", agent="agent container b (2)",
                                         node="node-2", remedies=["disable-proxy", "host-network"])),
        write(tmp_path, "c.json", report("proxy-unreachable-remote-daemon", node="node-3", kind="remote",
                                         endpoint="tcp://docker:2376", remedies=["disable-proxy"])),
    ]


def test_merge_json_folds_rows_needing_action_first(fleet_files, tmp_path):
    result = run(*fleet_files, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    fleet = json.loads(result.stdout)
    assert fleet["schema"] == "earthly-doctor/fleet/v1" and fleet["agents"] == 3 and fleet["needing_action"] == 2
    assert [r["cause"] for r in fleet["rows"]][-1] == "healthy"
    remote = next(r for r in fleet["rows"] if r["node"] == "node-3")
    # No agent container: the node stands for it; the daemon says where it is.
    assert remote["agent"] == "node-3" and remote["daemon"] == "remote (tcp://docker:2376)"
    assert remote["remedy"] == "disable-proxy" and remote["when"] == "2026-12-04T07:00:00Z"


def test_merge_text_markdown_and_junit(fleet_files, tmp_path):
    text = run(*fleet_files, cwd=tmp_path)
    assert "agent container b (2)" in text.stdout and "3 agent(s), 2 needing action" in text.stdout
    md = run(*fleet_files, "--format", "markdown", "--output", f"junit:{tmp_path / 'fleet.xml'}", cwd=tmp_path)
    assert md.returncode == 1 and "| agent | node | daemon |" in md.stdout
    suite = ET.parse(tmp_path / "fleet.xml").getroot()
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    failed = {case.get("name") for case in suite if case.find("failure") is not None}
    assert failed == {"agent container b (2)", "node-3"}


def test_all_healthy_exits_zero_and_exit_zero_overrides(tmp_path):
    ok = write(tmp_path, "ok.json", report("healthy", node="n"))
    assert run(ok, cwd=tmp_path).returncode == 0
    bad = write(tmp_path, "bad.json", report("docker-unreachable", node="m"))
    assert run(ok, bad, cwd=tmp_path).returncode == 1
    assert run(ok, bad, "--exit-zero", cwd=tmp_path).returncode == 0


def test_hostile_strings_are_sanitised_in_every_format(tmp_path):
    evil = "\x1b]0;owned\x07agent|`x`<b>\x1b[2J\x85"
    path = write(tmp_path, "evil.json", report("proxy-unreachable", agent=evil, node="n", summary=evil))
    for fmt in ("text", "markdown", "junit"):
        out = run(path, "--format", fmt, cwd=tmp_path).stdout
        assert "\x1b" not in out and "\x07" not in out, (fmt, out)
    md = run(path, "--format", "markdown", cwd=tmp_path).stdout
    assert "agent\\|\\`x\\`&lt;b&gt;" in md  # one Markdown escaper (sanitize.escape_markdown) for every report
    ET.fromstring(run(path, "--format", "junit", cwd=tmp_path).stdout.split("\n", 1)[1])  # well-formed


@pytest.mark.parametrize("content, words", [
    ("[1, 2]", "not an earthly-doctor v1 report"),
    ('{"schema": "other"}', "schema 'other'"),
    ("not json", "not JSON"),
    ("[" * 100000, "not JSON"),
])
def test_bad_report_files_are_one_line_exit_2(tmp_path, content, words):
    path = tmp_path / "r.json"
    path.write_text(content)
    result = run(str(path), cwd=tmp_path)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_fifo_device_and_missing_files_never_hang(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path, words in ((fifo, "not a regular file"), (Path("/dev/zero"), "not a regular file"),
                        (tmp_path / "missing.json", "no such file")):
        result = run(str(path), cwd=tmp_path)
        assert result.returncode == 2 and words in result.stderr.lower(), result.stderr


def test_no_reports_and_bad_format_are_usage_errors(tmp_path, fleet_files):
    assert run(cwd=tmp_path).returncode == 2
    wrong = run(fleet_files[0], "--format", "sarif", cwd=tmp_path)
    assert wrong.returncode == 2 and "choose from" in wrong.stderr
    wrong_output = run(fleet_files[0], "--output", "nofmt", cwd=tmp_path)
    assert wrong_output.returncode == 2 and "FORMAT:PATH" in wrong_output.stderr


class FakeClient:
    """Answers inspect_container from recorded `docker inspect` shapes (the parts find_agent reads)."""

    def __init__(self, containers: dict[str, dict]) -> None:
        self.containers = containers

    def inspect_container(self, ref: str) -> dict:
        import docker.errors

        for key, attrs in self.containers.items():
            if ref in (key, attrs["Id"], attrs["Name"].lstrip("/")):
                return attrs
        raise docker.errors.NotFound(ref)


def test_find_agent_names_the_network_owner_and_reads_its_env():
    agent_id = "a" * 64
    client = FakeClient({
        "doctor": {"Id": "d" * 64, "Name": "/doctor", "HostConfig": {"NetworkMode": f"container:{agent_id}",
                                                                    "PidMode": f"container:{agent_id}"}},
        "agent": {"Id": agent_id, "Name": "/jenkins-agent", "HostConfig": {"NetworkMode": "default"},
                  "Config": {"Env": ["PATH=/bin", "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true", "UNSET"],
                             "WorkingDir": "/home/jenkins", "Image": "earthly/earthly:v0.8.15"}},
    })
    mode = NetworkMode("d" * 64, "container id", True, [Hop("doctor (dddddddddddd)", f"container:{agent_id}"),
                                                       Hop("jenkins-agent (aaaaaaaaaaaa)", "default")])
    agent = find_agent(client, mode)
    assert isinstance(agent, AgentContainer) and agent.label == "jenkins-agent (aaaaaaaaaaaa)"
    assert agent.env == {"PATH": "/bin", "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true"} and agent.shares_pid
    # A container that owns its namespace has no agent beside it.
    assert find_agent(client, NetworkMode("x", "id", True, [Hop("x", "default")])) is None


def test_env_list_keeps_values_with_equals_signs():
    assert env_list_to_dict(["A=b=c", "=x", "B="]) == {"A": "b=c", "B": ""}


def test_daemon_access_mounts_a_socket_passes_tls_and_refuses_our_loopback(tmp_path):
    assert daemon_access("unix:///run/d.sock", "/run/d.sock") == (["/run/d.sock:/var/run/docker.sock:rw"], {})
    assert daemon_access("tcp://docker:2375", None) == ([], {"DOCKER_HOST": "tcp://docker:2375"})
    # TLS as find_endpoint resolves it, from DOCKER_CERT_PATH or from a docker context's own folder.
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    env = {"HOME": str(tmp_path), "DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_VERIFY": "1",
           "DOCKER_CERT_PATH": str(tmp_path)}
    endpoint = find_endpoint(env)
    binds, environment = daemon_access(endpoint.url, endpoint.socket_path, endpoint.tls)
    assert binds == [f"{tmp_path / n}:/certs/client/{n}:ro" for n in ("ca.pem", "cert.pem", "key.pem")]
    assert environment == {"DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_VERIFY": "1",
                           "DOCKER_CERT_PATH": "/certs/client"}
    context = tmp_path / "ctx"
    digest = hashlib.sha256(b"dind").hexdigest()
    meta = context / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    meta.joinpath("meta.json").write_text(json.dumps(
        {"Name": "dind", "Endpoints": {"docker": {"Host": "tcp://docker:2376", "SkipTLSVerify": False}}}))
    folder = context / "contexts" / "tls" / digest / "docker"
    folder.mkdir(parents=True)
    (folder / "ca.pem").write_text("x")
    by_context = find_endpoint({"HOME": str(tmp_path), "DOCKER_CONFIG": str(context), "DOCKER_CONTEXT": "dind"})
    binds, environment = daemon_access(by_context.url, by_context.socket_path, by_context.tls)
    assert binds == [f"{folder / 'ca.pem'}:/certs/client/ca.pem:ro"] and environment["DOCKER_TLS_VERIFY"] == "1"
    with pytest.raises(UsageError, match="loopback"):
        daemon_access("tcp://127.0.0.1:2375", None)


def test_inner_argv_keeps_deadlines_and_selection():
    argv = inner_argv(BesideRequest("agent", timeout=4, probe_timeout=1.5, only=["ED120"], skip=["ED131"]))
    assert argv[:4] == ["diagnose", "--format", "json", "--exit-zero"]
    assert argv[argv.index("--timeout") + 1] == "4" and argv[argv.index("--probe-timeout") + 1] == "1.5"
    assert argv[argv.index("--only"):argv.index("--only") + 2] == ["--only", "ED120"] and "ED131" in argv
