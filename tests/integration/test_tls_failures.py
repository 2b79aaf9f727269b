"""TLS failures against a real TLS listener on loopback (Python's ssl, certificates made with openssl): each is told
as a TLS failure with what to check, never as "permission denied" (ssl errors carry errno 1, EPERM)."""

from __future__ import annotations

import shutil
import socket
import ssl
import threading
from pathlib import Path
from typing import Iterator

import pytest

from earthly_doctor.probes.docker_client import connect
from earthly_doctor.probes.docker_endpoint import find_endpoint
from tests.harness.tls_certs import CertDir, make_certs

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not found")


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> CertDir:
    return make_certs(tmp_path_factory.mktemp("tls"), ["10.9.9.9"], ("docker",))  # no 127.0.0.1 in the names


def _serve(certs: CertDir) -> Iterator[int]:
    """A TLS server that wants a client certificate, answering one handshake per connection, then closing."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.server / "cert.pem", certs.server / "key.pem")
    context.load_verify_locations(certs.server / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    tls.recv(4096)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def port(certs) -> Iterator[int]:
    yield from _serve(certs)


def _handle(tmp_path: Path, url: str, cert_path: Path):
    env = {"HOME": str(tmp_path), "DOCKER_HOST": url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(cert_path),
           "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"}
    return connect(find_endpoint(env), env, timeout=5)


def test_a_name_not_in_the_certificate(tmp_path, certs, port):
    handle = _handle(tmp_path, f"tcp://127.0.0.1:{port}", certs.client)
    assert handle.error_kind == "tls-name-mismatch", handle.error
    assert "subjectAltName" in (handle.hint or "") and "permission" not in (handle.error or "")


def test_an_unknown_ca(tmp_path, certs, port):
    other = make_certs(tmp_path / "other", ["127.0.0.1"])
    handle = _handle(tmp_path, f"tcp://127.0.0.1:{port}", other.client)
    assert handle.error_kind == "tls-unknown-ca", handle.error
    assert str(other.client / "ca.pem") in (handle.hint or "")


def test_tls_to_a_plain_listener(tmp_path, certs):
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen(1)

    def answer() -> None:
        conn, _ = plain.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    try:
        handle = _handle(tmp_path, f"tcp://127.0.0.1:{plain.getsockname()[1]}", certs.client)
    finally:
        plain.close()
    assert handle.error_kind == "tls-to-plain", handle.error
