"""ED111 (daemon HTTP proxy vs loopback) and ED112 (127.0.0.0/8 insecure) on recorded /info shapes."""

from __future__ import annotations

from earthly_doctor.checks.ed111_daemon_proxy import DaemonHttpProxy, covers_loopback
from earthly_doctor.checks.ed112_insecure_loopback import InsecureLoopback
from earthly_doctor.model import Status
from earthly_doctor.probes.canary import CanaryResult, Hit, PullAttempt
from tests.helpers.facts import daemon, make_ctx

REACHED = CanaryResult(40000, "n", True, PullAttempt("r", "reached", "manifest unknown"), [Hit("GET", "/v2/n/manifests/x")])
TLS_ONLY = CanaryResult(40000, "n", False, PullAttempt("r", "error", "http: server gave HTTP response"), [Hit("TLS", "", tls=True)])
PROXIED = CanaryResult(40000, "n", False, PullAttempt("r", "error", "proxyconnect tcp: dial tcp 10.0.0.5:3128: i/o timeout"), [])


def test_no_proxy_passes():
    assert DaemonHttpProxy().run(make_ctx(docker=daemon())).status == Status.PASS


def test_proxy_with_loopback_exempt_passes():
    f = DaemonHttpProxy().run(make_ctx(docker=daemon(HttpProxy="http://proxy:3128", NoProxy="localhost,127.0.0.1")))
    assert f.status == Status.PASS


def test_proxy_without_no_proxy_is_a_warning_when_the_canary_proves_loopback_bypasses_it():
    """Measured on dockerd 20.10 with HTTP_PROXY at a dead port: the canary still arrives (Go exempts loopback)."""
    f = DaemonHttpProxy().run(make_ctx(docker=daemon(HttpProxy="http://u:secret@127.0.0.1:9"), canary=REACHED))
    assert f.status == Status.WARN
    assert "never proxies loopback" in f.summary and "canary reached" in f.summary
    assert "secret" not in str(f.to_dict())


def test_proxyconnect_in_the_canary_error_is_proof():
    f = DaemonHttpProxy().run(make_ctx(docker=daemon(HttpsProxy="http://10.0.0.5:3128"), canary=PROXIED))
    assert f.status == Status.FAIL and f.remedies[0] == "daemon-no-proxy"


def test_no_proxy_forms():
    assert covers_loopback("127.0.0.0/8")
    assert covers_loopback("*")
    assert covers_loopback("foo.corp, localhost")
    assert not covers_loopback("10.0.0.0/8,.corp")
    assert not covers_loopback("")


def test_insecure_default_passes():
    assert InsecureLoopback().run(make_ctx(docker=daemon())).status == Status.PASS


def test_insecure_range_removed_fails_and_cites_the_tls_canary():
    handle = daemon(RegistryConfig={"InsecureRegistryCIDRs": ["10.0.0.0/8"], "IndexConfigs": {}})
    f = InsecureLoopback().run(make_ctx(docker=handle, canary=TLS_ONLY))
    assert f.status == Status.FAIL and "proven" in f.summary
    assert f.fact("insecure_cidrs") == ["10.0.0.0/8"]


def test_no_daemon_skips():
    assert InsecureLoopback().run(make_ctx(docker=daemon(ok=False))).status == Status.SKIP
    assert DaemonHttpProxy().run(make_ctx(docker=daemon(ok=False))).status == Status.SKIP
