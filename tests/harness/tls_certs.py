"""Certificates for a TLS Docker daemon, made with openssl the way Docker's "Protect the daemon socket" guide and
docker:dind's entrypoint do: one CA, a server certificate with subjectAltNames, a client certificate
(extendedKeyUsage clientAuth). Laid out as docker:dind does under DOCKER_TLS_CERTDIR: ca/, server/, client/.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertDir:
    root: Path  # DOCKER_TLS_CERTDIR

    @property
    def client(self) -> Path:  # DOCKER_CERT_PATH for the docker CLI: ca.pem, cert.pem, key.pem
        return self.root / "client"

    @property
    def server(self) -> Path:  # dockerd --tlscacert/--tlscert/--tlskey
        return self.root / "server"

    def daemon_args(self, host: str) -> list[str]:
        return ["--tlsverify", "--tlscacert", str(self.server / "ca.pem"), "--tlscert", str(self.server / "cert.pem"),
                "--tlskey", str(self.server / "key.pem"), "--host", host]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed(folder: Path, ca: Path, subject: str, ext: str) -> None:
    """key.pem + cert.pem in folder, signed by the CA in `ca` (ca.pem, key.pem), with the given extensions."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("genrsa", "-out", "key.pem", "2048", cwd=folder)
    _openssl("req", "-new", "-key", "key.pem", "-subj", subject, "-out", "csr.pem", cwd=folder)
    (folder / "ext.cnf").write_text(ext)
    _openssl("x509", "-req", "-in", "csr.pem", "-CA", str(ca / "ca.pem"), "-CAkey", str(ca / "key.pem"),
             "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "cert.pem", cwd=folder)
    (folder / "ca.pem").write_bytes((ca / "ca.pem").read_bytes())


def make_certs(root: Path, ips: list[str], names: tuple[str, ...] = ("docker", "localhost")) -> CertDir:
    """A CA and server/client certificates below root; the server's names and IPs go in its subjectAltName."""
    ca = root / "ca"
    ca.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=earthly-doctor test CA", cwd=ca)
    san = ",".join([*(f"DNS:{n}" for n in names), *(f"IP:{i}" for i in ips)])
    _signed(root / "server", ca, "/CN=docker", f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    _signed(root / "client", ca, "/CN=client", "extendedKeyUsage=clientAuth\n")
    return CertDir(root)
