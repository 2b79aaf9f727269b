"""ED103: HostConfig.NetworkMode from the daemon, followed through container:<id>; Kubernetes said honestly."""

from __future__ import annotations


import docker.errors

from earthly_doctor.checks.ed103_network_mode import NetworkModeCheck
from earthly_doctor.model import Status
from earthly_doctor.probes.network_mode import resolve
from earthly_doctor.probes.providers import network_mode
from tests.helpers.facts import daemon, make_ctx

CHECK = NetworkModeCheck()
ME = "1435f5601e5f3ddcf7adc6abd089595e99235dd8fc77b8f108948f6dcfc3488a"


class FakeAPI:
    """inspect_container over recorded /containers/<id>/json shapes."""

    def __init__(self, containers):
        self.containers = containers

    def inspect_container(self, ref):
        for cid, attrs in self.containers.items():
            if cid.startswith(ref) or attrs.get("Name") == "/" + ref:
                return {"Id": cid, **attrs}
        raise docker.errors.NotFound(f"No such container: {ref}")


def attrs(name, mode, networks=()):
    return {"Name": "/" + name, "HostConfig": {"NetworkMode": mode},
            "NetworkSettings": {"Networks": {n: {} for n in networks}}}


def run(containers, case="docker-cgroup1"):
    handle = daemon()
    handle.client = FakeAPI(containers)
    ctx = make_ctx(case, docker=handle)
    ctx.overrides["network_mode"] = network_mode(ctx)  # the real provider, on the fixture and the fake API
    return CHECK.run(ctx)


def test_default_bridge_warns_with_the_api_field_as_evidence():
    f = run({ME: attrs("agent", "default", ["bridge"])})
    assert f.status == Status.WARN and "NetworkMode=default" in f.summary and "bridge" in f.summary
    assert f.extra["final_mode"] == "bridge" and f.extra["daemon_runs_us"] is True
    assert any("HostConfig.NetworkMode" in e.source for e in f.evidence)


def test_host_network_passes():
    f = run({ME: attrs("agent", "host", ["host"])})
    assert f.status == Status.PASS and f.extra["final_mode"] == "host"


def test_container_mode_is_followed_to_its_owner():
    owner = "ab" * 32
    f = run({ME: attrs("agent", f"container:{owner}"), owner: attrs("jenkins", "host", ["host"])})
    assert f.status == Status.PASS and "via container:" in f.summary
    f = run({ME: attrs("agent", f"container:{owner}"), owner: attrs("sidecar", "ci-net", ["ci-net"])})
    assert f.status == Status.WARN and "user-defined network 'ci-net'" in f.summary


def test_user_defined_network():
    f = run({ME: attrs("agent", "jenkins", ["jenkins"])})
    assert f.status == Status.WARN and f.extra["final_mode"] == "jenkins"


def test_a_daemon_that_does_not_know_us_is_another_daemon():
    f = run({})
    assert f.status == Status.WARN and f.extra["daemon_runs_us"] is False
    assert "Docker-in-Docker" in f.summary


def test_kubernetes_says_what_is_and_is_not_known():
    f = run({}, case="kubernetes-cgroup1")
    assert f.status == Status.WARN
    assert "hostNetwork: true" in f.summary and "cannot be read from here" in f.summary


def test_not_in_a_container_skips():
    f = CHECK.run(make_ctx("not-containerized", docker=daemon()))
    assert f.status == Status.SKIP


def test_a_chain_loop_is_bounded():
    a, b = "a" * 64, "b" * 64
    nm = resolve(FakeAPI({a: attrs("a", f"container:{b}"), b: attrs("b", f"container:{a}")}), a, "test")
    assert nm.error and "hops" in nm.error
