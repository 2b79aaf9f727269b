"""The contracts between layers, exercised end to end with nothing hand-built in the path: the real checks run on
recorded contexts (a /proc fixture, the daemon's recorded answers, an environment, `.env` and config files, real
build logs), and their findings go to the verdict engine, the remedy engine, preflight and every renderer.

The daemon is a stand-in replaying answers recorded from the real dockerd this suite uses (see
tests/helpers/recorded.py); the canary's listener and every provider, check and renderer are the real ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from earthly_doctor import reports
from earthly_doctor.commands.preflight import decide as preflight_decide
from earthly_doctor.commands.preflight import parse_command, proxy_setting
from earthly_doctor.context import Context, default_providers
from earthly_doctor.model import Confidence, Report, Status
from earthly_doctor.plugins import load_checks
from earthly_doctor.remedies import engine
from earthly_doctor.runner import run_checks
from earthly_doctor.verdict import decide, topology_from
from tests.helpers.recorded import RecordedDaemon, bridge_container, buildkitd_container, daemon_handle, recorded_context
from tests.helpers.schema import assert_valid_report

LOGS = Path(__file__).resolve().parents[2] / "examples" / "logs"
CONTAINER_ID = "d1a6f4c2b9e84f0a7c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d"  # fixture proc/docker-cgroup2
SOCKET = ("unix:///var/run/docker.sock", "default socket")


@dataclass
class Scenario:
    name: str
    proc: str
    expect: tuple[str, Confidence, list[str]]  # cause, confidence, remedies: what an expert would conclude
    endpoint: tuple[str, str] = SOCKET
    containers: dict[str, Any] = field(default_factory=dict)
    shares_loopback: bool = False
    reachable_ports: set[int] = field(default_factory=set)
    info: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    logs: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # the checks a command runs (empty: all of them, as diagnose does)
    topology: dict[str, Any] = field(default_factory=dict)  # what the topology must say (None: not known)


SCENARIOS = [
    # The Jenkins docker agent: a bridge container, the host's daemon through the mounted socket.
    Scenario("bridge-agent", "docker-cgroup2",
             ("proxy-unreachable-bridge-container", Confidence.PROVEN, ["disable-proxy", "host-network", "earthly-image"]),
             containers={CONTAINER_ID: bridge_container(CONTAINER_ID)},
             topology={"in_container": True, "network_mode": "bridge", "daemon_kind": "local", "buildkitd_8371": None}),
    # The same agent with earthly-buildkitd publishing 127.0.0.1:8371, which the daemon reaches: pinned-port too.
    Scenario("bridge-agent-buildkitd-8371", "docker-cgroup2",
             ("proxy-unreachable-bridge-container", Confidence.PROVEN,
              ["disable-proxy", "host-network", "earthly-image", "pinned-port"]),
             containers={CONTAINER_ID: bridge_container(CONTAINER_ID), "earthly-buildkitd": buildkitd_container()},
             reachable_ports={8371}, topology={"buildkitd_8371": True, "buildkit_local": True}),
    # earthly-buildkitd runs without publishing 8371 (EARTHLY_WITH_DOCKER=1): the pinned port is ruled out.
    Scenario("bridge-agent-8371-unpublished", "docker-cgroup2",
             ("proxy-unreachable-bridge-container", Confidence.PROVEN, ["disable-proxy", "host-network", "earthly-image"]),
             containers={CONTAINER_ID: bridge_container(CONTAINER_ID), "earthly-buildkitd": buildkitd_container(18371)},
             topology={"buildkitd_8371": False}),
    # On the host (or --network host): the daemon reaches the canary.
    Scenario("host-healthy", "not-containerized", ("healthy", Confidence.PROVEN, []), shares_loopback=True,
             topology={"in_container": False}),
    # Docker-in-Docker / a tcp:// daemon: its 127.0.0.1 is not ours, and --network host would not help.
    Scenario("remote-daemon", "not-containerized", ("proxy-unreachable-remote-daemon", Confidence.PROVEN, ["disable-proxy"]),
             endpoint=("tcp://10.231.9.2:2375", "DOCKER_HOST"), env={"DOCKER_HOST": "tcp://10.231.9.2:2375"},
             topology={"daemon_kind": "remote"}),
    # A rootless daemon: RootlessKit gives it a loopback of its own.
    Scenario("rootless-daemon", "not-containerized",
             ("proxy-unreachable-rootless-daemon", Confidence.PROVEN, ["disable-proxy"]),
             endpoint=("unix:///run/user/1000/docker.sock", "DOCKER_HOST"),
             info={"SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]},
             topology={"daemon_kind": "rootless"}),
    # The proxy is already off in ./.env: the gap is real but cannot fail a build.
    Scenario("bridge-agent-proxy-off-in-dotenv", "docker-cgroup2", ("healthy", Confidence.LIKELY, []),
             containers={CONTAINER_ID: bridge_container(CONTAINER_ID)},
             files={".env": "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n"}),
    # A remote BuildKit in ~/.earthly/config.yml: 8371 would be ignored, so no pinned-port even when published.
    Scenario("bridge-agent-remote-buildkit", "docker-cgroup2",
             ("proxy-unreachable-bridge-container", Confidence.PROVEN, ["disable-proxy", "host-network", "earthly-image"]),
             containers={CONTAINER_ID: bridge_container(CONTAINER_ID), "earthly-buildkitd": buildkitd_container()},
             reachable_ports={8371}, files={"home/.earthly/config.yml": "global:\n  buildkit_host: tcp://10.231.9.3:8372\n"},
             topology={"buildkit_local": False}),
    # `triage` / `diagnose --log`: ED160 triages a real log (issue #4265) through its provider.
    Scenario("log-issue-4265", "not-containerized",
             ("proxy-unreachable", Confidence.LIKELY, ["disable-proxy", "host-network"]),  # no pinned-port: a log proves no 8371
             logs=(str(LOGS / "issue-4265.log"),), only=("ED160",)),
    Scenario("log-healthy", "not-containerized", ("no-known-failure", Confidence.LIKELY, []),
             logs=(str(LOGS / "healthy.log"),), only=("ED160",)),
]


def _context(s: Scenario, tmp_path: Path) -> Context:
    client = RecordedDaemon(dict(s.containers), s.shares_loopback, set(s.reachable_ports))
    handle = daemon_handle(*s.endpoint, client, **s.info)
    return recorded_context(s.proc, tmp_path, env=s.env, handle=handle, files=s.files, logs=s.logs)


def _report(s: Scenario, tmp_path: Path) -> Report:
    checks = [c for c in load_checks().items if not s.only or c.code in s.only]
    findings = run_checks(_context(s, tmp_path), checks)
    return Report(findings, decide(findings), "0")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_real_checks_on_recorded_contexts_reach_the_experts_verdict(scenario, tmp_path):
    report = _report(scenario, tmp_path)
    errors = [f"{f.code}: {f.summary}" for f in report.findings if f.status == Status.ERROR]
    assert errors == []
    v = report.verdict
    assert (v.cause, v.confidence, v.remedies) == scenario.expect, v.summary


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_remedy_engine_reads_what_the_checks_published(scenario, tmp_path):
    """One topology: what `fix` may apply is exactly what the verdict recommends for live diagnoses, and each
    topology fact the scenario establishes is read from the checks' published findings (None when unknown)."""
    report = _report(scenario, tmp_path)
    topology = topology_from(report)
    for name, value in scenario.topology.items():
        assert getattr(topology, name) == value, name
    offered = [r.id for r in engine.rank(topology, engine.load_remedies().remedies)]
    if not scenario.logs:
        assert offered == report.verdict.remedies
    else:  # a log proves no topology: fix keeps to what works anywhere
        assert offered == [r for r in report.verdict.remedies if r == "disable-proxy"]


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if not s.logs], ids=lambda s: s.name)
def test_preflight_follows_the_verdict(scenario, tmp_path):
    report = _report(scenario, tmp_path)
    command = parse_command(["earthly", "+image"])
    result = preflight_decide(command, proxy_setting({}, tmp_path, command), report, 5.0)
    refused = report.verdict.cause.startswith("proxy-unreachable") and report.verdict.confidence == Confidence.PROVEN
    assert result.outcome == ("unreachable" if refused else "reachable" if report.verdict.confidence == Confidence.PROVEN
                              else "undecided")
    assert bool(result.variables) == refused


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@pytest.mark.parametrize("fmt", reports.formats())
def test_every_renderer_renders_the_real_findings(scenario, fmt, tmp_path):
    report = _report(scenario, tmp_path)
    out = reports.render(fmt, report)
    assert out.strip()
    if fmt == "json":
        data = json.loads(out)
        assert_valid_report(data)
        assert data["verdict"]["cause"] == report.verdict.cause
        assert [f["code"] for f in data["findings"]] == [f.code for f in report.findings]
    elif fmt in ("text", "markdown"):
        assert report.verdict.cause in out
    for remedy in report.verdict.remedies:
        assert remedy in out or fmt == "warnings-ng"  # Warnings NG lists issues, not the verdict's remedies


def test_every_fact_a_check_needs_has_a_provider():
    """A check that `needs` a fact no provider supplies can never run in production (ED160's build_logs did)."""
    import earthly_doctor.probes.providers  # noqa: F401 -- registers the built-in providers

    provided = set(default_providers())
    missing = {c.code: [n for n in c.needs if n not in provided] for c in load_checks().items}
    assert {code: names for code, names in missing.items() if names} == {}
