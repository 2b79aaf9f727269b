"""ED101 on recorded /proc fixtures: docker on cgroup v1 and v2, podman, Kubernetes, and hosts that are not containers."""

from __future__ import annotations

import pytest

from earthly_doctor.checks.ed101_container import ContainerIdentity
from earthly_doctor.model import Status
from earthly_doctor.probes.container import detect_container
from tests.helpers.facts import make_ctx, proc_case

CHECK = ContainerIdentity()


def run(case: str):
    finding = CHECK.run(make_ctx(case))
    assert finding.status == Status.PASS
    return finding


def signals(finding) -> set[str]:
    return {e.fact.split(":", 1)[1] for e in finding.evidence if e.fact.startswith("signal:")}


def test_docker_on_cgroup_v1_recorded_from_the_test_daemon():
    f = run("docker-cgroup1")
    assert f.extra["containerized"] is True and f.extra["runtime"] == "docker"
    assert f.extra["container_id"] == "1435f5601e5f3ddcf7adc6abd089595e99235dd8fc77b8f108948f6dcfc3488a"
    assert {"mountinfo", "cgroup", "dockerenv"} <= signals(f)
    assert f.fact("cgroup_version") == 1
    assert "docker container 1435f5601e5f" in f.summary and "(certain" in f.summary
    # Every signal names the file it came from.
    assert any("proc/self/mountinfo" in e.source for e in f.evidence if e.fact == "signal:mountinfo")


def test_docker_on_cgroup_v2_uses_mountinfo_and_the_cgroup_namespace():
    f = run("docker-cgroup2")
    assert f.extra["runtime"] == "docker"
    assert f.extra["container_id"].startswith("d1a6f4c2b9e8")
    assert "cgroupns" in signals(f) and "cgroup" not in signals(f)  # 0::/ names nothing
    assert f.fact("cgroup_version") == 2


def test_podman_from_its_overlay_containers_mount_and_containerenv():
    f = run("podman")
    assert f.extra["runtime"] == "podman"
    assert f.extra["container_id"].startswith("7b3f0c9e2a1d")
    assert {"mountinfo", "containerenv", "container-env"} <= signals(f)


@pytest.mark.parametrize("case", ["kubernetes-cgroup1", "kubernetes-cgroup2"])
def test_kubernetes_pod_uid_sandbox_and_container(case):
    f = run(case)
    assert f.extra["runtime"] == "kubernetes"
    assert f.fact("pod_uid") == "8e1c3a7e-9d5b-4b8e-9a64-2f4f1c7c5e11"
    assert f.fact("pod_sandbox_id").startswith("f0e1d2c3")
    assert "kubernetes-env" in signals(f)
    if case == "kubernetes-cgroup1":
        assert f.extra["container_id"].startswith("3c9d0e1f")  # the container, from kubepods/…/pod<uid>/<id>
    else:
        assert f.extra["container_id"] is None  # cgroupns hides it; the sandbox id is not the container's
    assert "Kubernetes pod" in f.summary


def test_a_host_is_not_a_container():
    f = run("not-containerized")
    assert f.extra["containerized"] is False
    assert f.summary.startswith("not in a container")


def test_a_leftover_dockerenv_alone_does_not_make_a_container():
    """Recorded on this project's VM: /.dockerenv exists, but the cgroup namespace is the initial one."""
    f = run("host-dockerenv-leftover")
    assert f.extra["containerized"] is False
    assert "leftover" in f.summary
    assert "dockerenv" in signals(f)


def test_dockerenv_without_any_other_information_is_a_possible_container(tmp_path):
    (tmp_path / ".dockerenv").touch()
    ident = detect_container(tmp_path / "noproc", tmp_path, {})
    assert ident.containerized and ident.confidence == "possible" and ident.runtime == "docker"


def test_unreadable_proc_is_not_a_crash(tmp_path):
    ident = detect_container(tmp_path / "missing", tmp_path / "missing", {})
    assert not ident.containerized and ident.confidence == "unknown"


def test_fixture_env_reaches_the_probe():
    _, _, env = proc_case("podman")
    assert env["container"] == "podman"
