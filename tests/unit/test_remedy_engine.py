"""Topology facts from a report, ranking by the verdict and `applies()`, plugin loading, plans and apply/undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from earthly_doctor.checks.ed131_buildkitd import Buildkitd
from earthly_doctor.model import Confidence, Evidence, Finding, Report, Status, Verdict
from earthly_doctor.remedies import engine
from earthly_doctor.verdict import topology_from
from earthly_doctor.remedies.base import backup_path, created_marker


def report(cause: str, remedies: list[str], kind: str | None = "local", extra: list[Finding] = ()) -> Report:
    findings = []
    if kind:
        findings.append(Finding("ED110", "daemon", Status.PASS, evidence=[Evidence("daemon_kind", kind, "test")]))
    findings += list(extra)
    return Report(findings, Verdict(cause, "s", Confidence.PROVEN, remedies), "0")


def ranked(rep: Report) -> list[str]:
    return [r.id for r in engine.rank(topology_from(rep), engine.load_remedies().remedies)]


def test_all_remedies_load_as_plugins():
    loaded = engine.load_remedies()
    assert sorted(loaded.remedies) == sorted(["disable-proxy", "host-network", "pinned-port", "daemon-no-proxy",
                                              "earthly-image", "podman-frontend", "podman-insecure-loopback"])
    assert loaded.warnings == []


@pytest.mark.parametrize(
    "rep,expected",
    [
        # bridge container on the host daemon: host-network offered; pinned-port only when 8371 is proven published
        (report("proxy-unreachable-bridge-container", ["disable-proxy", "host-network", "pinned-port"]), ["disable-proxy", "host-network"]),
        (report("proxy-unreachable-bridge-container", ["disable-proxy", "host-network", "pinned-port"],
                extra=[Finding("ED131", "buildkitd", Status.PASS, extra=Buildkitd(pinned_port_ok=True).as_extra())]),
         ["disable-proxy", "host-network", "pinned-port"]),
        # 8371 published, but Earthly would use a remote BuildKit: local_registry_host would be ignored
        (report("proxy-unreachable-bridge-container", ["disable-proxy", "pinned-port"],
                extra=[Finding("ED131", "buildkitd", Status.PASS),
                       Finding("ED140", "settings", Status.PASS, evidence=[Evidence("buildkit_local", False, "t")])]),
         ["disable-proxy"]),
        # already on the host network: host-network cannot be the fix
        (report("proxy-unreachable-bridge-container", ["disable-proxy", "host-network"],
                extra=[Finding("ED103", "mode", Status.WARN, evidence=[Evidence("network_mode", "host", "t")])]), ["disable-proxy"]),
        # remote / rootless daemons: never host-network, even if a report listed it
        (report("proxy-unreachable-remote-daemon", ["disable-proxy", "host-network", "pinned-port"], kind="remote"), ["disable-proxy"]),
        (report("proxy-unreachable-rootless-daemon", ["disable-proxy", "pinned-port"], kind="rootless"), ["disable-proxy"]),
        # a log triage: topology unknown, so the conservative set
        (report("proxy-unreachable", ["disable-proxy", "host-network", "pinned-port"], kind=None), ["disable-proxy"]),
        # the daemon's proxy captures loopback: exempt it, or turn Earthly's proxy off (the verdict's two)
        (report("daemon-proxy-captures-loopback", ["daemon-no-proxy", "disable-proxy"]), ["daemon-no-proxy", "disable-proxy"]),
        (report("healthy", []), []),
        (report("docker-unreachable", [], kind=None), []),
    ],
)
def test_ranking_follows_the_verdict_and_the_topology(rep, expected):
    assert ranked(rep) == expected


def test_verdict_order_is_kept():
    rep = report("proxy-unreachable-bridge-container", ["host-network", "disable-proxy"])
    assert ranked(rep) == ["host-network", "disable-proxy"]


def test_broken_remedy_plugin_warns(monkeypatch):
    from earthly_doctor import plugins

    class EP:
        name, value = "broken", "nowhere:Nothing"

        def load(self):
            raise ImportError("no module named nowhere")

    monkeypatch.setattr(plugins, "entry_points", lambda group: [EP()])
    loaded = engine.load_remedies()
    assert loaded.remedies == {} and "broken" in loaded.warnings[0]


def test_plan_apply_second_apply_and_undo(tmp_path: Path):
    (tmp_path / "Jenkinsfile").write_text("node {\n  sh 'earthly +a'\n}\n")
    rep = report("proxy-unreachable-bridge-container", ["disable-proxy"])
    remedy = engine.load_remedies().remedies["disable-proxy"]
    topo = topology_from(rep)
    plan = engine.make_plan(remedy, topo, [], tmp_path, {})
    assert [e.label for e in plan.edits] == ["Jenkinsfile"]
    assert "+  env.EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY = 'true'\n" in plan.edits[0].diff()
    first = engine.apply_plan(plan)
    assert first.changed and backup_path(tmp_path / "Jenkinsfile").read_text() == "node {\n  sh 'earthly +a'\n}\n"
    fixed = (tmp_path / "Jenkinsfile").read_text()
    second = engine.apply_plan(engine.make_plan(remedy, topo, [], tmp_path, {}))
    assert not second.changed and "already applied" in second.written[0].message
    assert (tmp_path / "Jenkinsfile").read_text() == fixed
    engine.undo([tmp_path / "Jenkinsfile"])
    assert (tmp_path / "Jenkinsfile").read_text() == "node {\n  sh 'earthly +a'\n}\n"
    assert not backup_path(tmp_path / "Jenkinsfile").exists()


def test_created_env_file_is_removed_by_undo(tmp_path: Path):
    remedy = engine.load_remedies().remedies["disable-proxy"]
    plan = engine.make_plan(remedy, topology_from(report("proxy-unreachable-bridge-container", ["disable-proxy"])), [], tmp_path, {})
    assert plan.edits[0].before is None and plan.edits[0].path == tmp_path / ".env"
    engine.apply_plan(plan)
    assert (tmp_path / ".env").read_text() == "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n"
    assert created_marker(tmp_path / ".env").exists()
    engine.undo([tmp_path / ".env"])
    assert not (tmp_path / ".env").exists() and not created_marker(tmp_path / ".env").exists()


def test_refusal_in_one_file_writes_nothing(tmp_path: Path):
    good, bad = tmp_path / "build.sh", tmp_path / "Jenkinsfile"
    good.write_text("earthly +a\n")
    bad.write_text("pipeline {\n  stages {\n")
    remedy = engine.load_remedies().remedies["disable-proxy"]
    plan = engine.make_plan(remedy, topology_from(report("proxy-unreachable", ["disable-proxy"])), [good, bad], tmp_path, {})
    result = engine.apply_plan(plan)
    assert result.refusals and not result.written
    assert str(result.refusals[0]).startswith("Jenkinsfile:2: cannot edit safely: a '{' is never closed")
    assert good.read_text() == "earthly +a\n" and not backup_path(good).exists()


def test_file_changed_since_planning_is_not_overwritten(tmp_path: Path):
    script = tmp_path / "build.sh"
    script.write_text("earthly +a\n")
    remedy = engine.load_remedies().remedies["disable-proxy"]
    plan = engine.make_plan(remedy, topology_from(report("proxy-unreachable", ["disable-proxy"])), [script], tmp_path, {})
    script.write_text("earthly +b\n")
    result = engine.apply_plan(plan)
    assert "changed on disk" in str(result.refusals[0]) and script.read_text() == "earthly +b\n"


def test_unknown_and_unsupported_files_are_refused(tmp_path: Path):
    remedy = engine.load_remedies().remedies["host-network"]
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    env = tmp_path / ".env"
    plan = engine.make_plan(remedy, topology_from(report("proxy-unreachable-bridge-container", ["host-network"])), [notes, env], tmp_path, {})
    assert [r.reason for r in plan.refusals] == [
        "unknown file type (expected a Jenkinsfile, .env, shell script, Dockerfile, YAML config or registries.conf)",
        "host-network does not edit envfile files",
    ]


def test_binary_and_non_utf8_files_are_refused(tmp_path: Path):
    remedy = engine.load_remedies().remedies["disable-proxy"]
    latin = tmp_path / "build.sh"
    latin.write_bytes(b"# caf\xe9\nearthly +a\n")
    plan = engine.make_plan(remedy, topology_from(report("proxy-unreachable", ["disable-proxy"])), [latin], tmp_path, {})
    assert plan.refusals[0].line == 1 and "not UTF-8" in plan.refusals[0].reason


def test_earthly_image_edits_the_dockerfile_a_dockerfile_agent_builds(tmp_path: Path):
    (tmp_path / "Jenkinsfile").write_bytes((Path(__file__).resolve().parents[2] / "examples/jenkinsfiles/dockerfile-agent.Jenkinsfile").read_bytes())
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "Dockerfile.ci").write_text("FROM debian:12\nCOPY earthly /usr/local/bin/\n")
    (tmp_path / "Dockerfile").write_text("FROM app\n")  # the application's: never touched by default
    remedy = engine.load_remedies().remedies["earthly-image"]
    plan = engine.make_plan(remedy, topology_from(report("proxy-unreachable-bridge-container", ["earthly-image"])), [], tmp_path, {})
    changed = [e.label for e in plan.edits if e.changed]
    assert changed == ["ci/Dockerfile.ci"]
    assert plan.edits[-1].after == "FROM debian:12\nENV EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\nCOPY earthly /usr/local/bin/\n"
