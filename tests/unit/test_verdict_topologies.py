"""decide(): one cause per topology, proof before heuristics, remedies ranked for that topology."""

from __future__ import annotations

from earthly_doctor.model import Confidence, Evidence, Finding, Status
from earthly_doctor.verdict import decide
from earthly_doctor.checks.ed121_live_proxy_reach import LiveProxyReach
from earthly_doctor.probes.processes import EarthlyProcess
from tests.helpers.facts import daemon as daemon_handle
from tests.helpers.facts import make_ctx


def F(code, status, summary="", evidence=(), **extra):
    return Finding(code, code, Status(status), summary=summary or f"{code} {status}",
                   evidence=[Evidence(k, v, "test") for k, v in evidence], extra=extra)


def daemon(kind="local", endpoint="unix:///var/run/docker.sock"):
    return F("ED110", "pass", evidence=[("daemon_kind", kind), ("endpoint", endpoint)])


CANARY_REFUSED = F("ED120", "fail", "refused", [("daemon_outcome", "refused"), ("nonce_arrived", False),
                                                ("daemon_error", "dial tcp 127.0.0.1:1: connect: connection refused")])
CANARY_OK = F("ED120", "pass", "reached", [("daemon_outcome", "reached"), ("nonce_arrived", True)])
IN_DOCKER = F("ED101", "pass", "in a docker container", containerized=True, runtime="docker", container_id="ab" * 32)
ON_HOST = F("ED101", "pass", "not in a container", containerized=False)
BRIDGE = F("ED103", "warn", "bridge", daemon_runs_us=True, final_mode="bridge")
SETTINGS = F("ED140", "pass", "proxy", [("export_path", "proxy"), ("earthly_image", False)], export_path="proxy")
PINNED = F("ED131", "pass", "8371 reached", pinned_port_ok=True)


def test_bridge_container():
    v = decide([daemon(), IN_DOCKER, BRIDGE, CANARY_REFUSED, SETTINGS])
    assert v.cause == "proxy-unreachable-bridge-container" and v.confidence == Confidence.PROVEN
    assert v.remedies == ["disable-proxy", "host-network", "earthly-image"]
    assert v.chain[0].startswith("ED110") and any(c.startswith("ED103") for c in v.chain)


def test_pinned_port_only_with_a_reachable_buildkitd():
    v = decide([daemon(), IN_DOCKER, BRIDGE, CANARY_REFUSED, SETTINGS, PINNED])
    assert v.remedies[-1] == "pinned-port"


def test_remote_daemon_never_offers_host_network():
    v = decide([daemon("remote", "tcp://10.231.0.1:2375"), ON_HOST, CANARY_REFUSED, SETTINGS])
    assert v.cause == "proxy-unreachable-remote-daemon" and v.remedies == ["disable-proxy"]
    v = decide([daemon("remote", "tcp://docker:2375"), IN_DOCKER, CANARY_REFUSED, SETTINGS])
    assert "host-network" not in v.remedies and v.remedies[0] == "disable-proxy"


def test_a_daemon_that_does_not_run_our_container_is_remote():
    gone = F("ED103", "warn", "unknown container", daemon_runs_us=False)
    assert decide([daemon(), IN_DOCKER, gone, CANARY_REFUSED]).cause == "proxy-unreachable-remote-daemon"


def test_rootless():
    v = decide([daemon("rootless"), ON_HOST, CANARY_REFUSED])
    assert v.cause == "proxy-unreachable-rootless-daemon" and "host-network" not in v.remedies


def test_healthy_follows_the_canary_even_with_a_daemon_proxy_warning():
    v = decide([daemon(), ON_HOST, CANARY_OK, F("ED111", "warn", "proxy set"), SETTINGS])
    assert v.cause == "healthy" and v.confidence == Confidence.PROVEN and v.remedies == []
    assert "ED111" in v.summary


def test_proxy_disabled_means_the_failure_cannot_happen():
    off = F("ED140", "pass", "off", [("export_path", "buildkitd-8371")], export_path="buildkitd-8371")
    downgraded = F("ED120", "warn", "latent", CANARY_REFUSED.evidence and [(e.fact, e.value) for e in CANARY_REFUSED.evidence])
    v = decide([daemon(), IN_DOCKER, BRIDGE, downgraded, off])
    assert v.cause == "healthy" and v.confidence == Confidence.LIKELY and "cannot happen" in v.summary
    assert "proxy-unreachable-bridge-container" in v.summary


def test_live_refusal_is_proof_even_without_the_canary():
    live = F("ED121", "fail", "refused live", refused=True)
    v = decide([daemon(), IN_DOCKER, BRIDGE, live, SETTINGS])
    assert v.cause == "proxy-unreachable-bridge-container" and v.confidence == Confidence.PROVEN and "ED121" in v.summary


def test_proxyconnect_is_the_daemon_proxy():
    canary = F("ED120", "fail", "proxied", [("daemon_outcome", "refused"), ("nonce_arrived", False),
                                           ("daemon_error", "proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused")])
    v = decide([daemon(), ON_HOST, canary])
    assert v.cause == "daemon-proxy-captures-loopback" and v.remedies[0] == "daemon-no-proxy"


def test_heuristics_only_when_the_canary_did_not_answer():
    v = decide([daemon(), IN_DOCKER, BRIDGE, F("ED120", "error", "timed out")])
    assert v.cause == "proxy-unreachable-bridge-container" and v.confidence == Confidence.LIKELY


def test_docker_unreachable_and_invalid_settings():
    assert decide([F("ED110", "fail", "no socket")]).cause == "docker-unreachable"
    bad = F("ED140", "fail", "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY='yes'", export_path="invalid")
    assert decide([daemon(), bad, CANARY_OK]).remedies == ["disable-proxy"]


def _listener(port):
    from earthly_doctor.probes.processes import Listener

    return Listener("127.0.0.1", port, None, "in another network namespace")


def _refused(port):
    from earthly_doctor.probes.reach import Reach

    return Reach(port, "refused", f"127.0.0.1:{port}/p@sha256:0", f"dial tcp 127.0.0.1:{port}: connect: connection refused", 3)


def test_a_build_refused_in_another_namespace_is_not_healthy_even_when_the_canary_arrives():
    """diagnose on the host while the agent container builds: the canary reaches (host namespace), but ED121 proves
    the running build's own proxy port refused; the verdict must not say the proxy is reachable."""
    from earthly_doctor.model import Evidence, Finding

    daemon_ok = Finding("ED110", "daemon", Status.PASS, evidence=[Evidence("daemon_kind", "local", "t")])
    canary = Finding("ED120", "canary", Status.PASS, evidence=[Evidence("daemon_outcome", "reached", "t")])
    live = LiveProxyReach().run(make_ctx(
        earthly_processes=[EarthlyProcess(4242, "earthly", 222, False, [], listeners=[_listener(44011)])],
        earthly_reach={(4242, 44011): _refused(44011)}, docker=daemon_handle()))
    assert live.status == Status.WARN and live.extra["refused_elsewhere"]
    v = decide([daemon_ok, canary, live])
    assert v.cause == "proxy-unreachable-bridge-container" and "pid 4242" in v.summary
    assert v.remedies[:2] == ["disable-proxy", "host-network"]
    remote = Finding("ED110", "daemon", Status.PASS, evidence=[Evidence("daemon_kind", "remote", "t")])
    assert "host-network" not in decide([remote, canary, live]).remedies
    assert decide([daemon_ok, canary]).cause == "healthy"
