"""The canary registry itself, spoken to directly (no daemon): it answers like a registry and records the nonce."""

from __future__ import annotations

import http.client
import socket

from earthly_doctor.probes.canary import CanaryRegistry, classify_daemon_error


def get(port: int, method: str, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    conn.request(method, path)
    return conn.getresponse()


def test_answers_v2_and_404s_manifests_and_sees_the_nonce():
    with CanaryRegistry() as canary:
        ping = get(canary.port, "GET", "/v2/")
        assert ping.status == 200
        assert ping.getheader("Docker-Distribution-API-Version") == "registry/2.0"
        manifest = get(canary.port, "HEAD", f"/v2/earthly-doctor-probe/{canary.nonce}/manifests/x")
        assert manifest.status == 404
        assert canary.nonce_seen()
        port = canary.port
    # Closed afterwards: nothing is left listening.
    s = socket.socket()
    s.settimeout(1)
    assert s.connect_ex(("127.0.0.1", port)) != 0
    s.close()


def test_a_tls_client_hello_is_recorded_as_tls():
    with CanaryRegistry() as canary:
        s = socket.create_connection(("127.0.0.1", canary.port), timeout=2)
        s.sendall(b"\x16\x03\x01\x00\x05hello")
        s.settimeout(2)
        try:
            s.recv(10)
        except OSError:
            pass
        s.close()
        for _ in range(50):
            if canary.hits:
                break
            import time

            time.sleep(0.02)
        assert canary.hits and canary.hits[0].tls
        assert not canary.nonce_seen()


def test_classify_daemon_errors():
    refused = 'Get "http://127.0.0.1:4000/v2/": dial tcp 127.0.0.1:4000: connect: connection refused'
    assert classify_daemon_error(refused, 4000) == "refused"
    assert classify_daemon_error('Head "https://127.0.0.1:4000/v2/x/manifests/img-0": dial tcp 127.0.0.1:4000: connect: connection refused', 4000) == "refused"
    assert classify_daemon_error("manifest for 127.0.0.1:4000/a:x not found: manifest unknown", 4000) == "reached"
    assert classify_daemon_error('Get "http://127.0.0.1:4000/v2/": context deadline exceeded', 4000) == "timeout"
    assert classify_daemon_error("something else entirely", 4000) == "error"
