"""Issue 18: the canonical Jenkins Docker-in-Docker, a TLS dockerd on 2376, against a real daemon.

A second dockerd runs in a network namespace the test creates, started as docker:dind starts it
(`--tlsverify --tlscacert --tlscert --tlskey -H tcp://0.0.0.0:2376`) with certificates this test makes with openssl
in docker:dind's DOCKER_TLS_CERTDIR layout (ca/, server/, client/). It is reached the two ways a Jenkins agent
does: by environment (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, with a CA bundle for other tools in
REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE) and by a docker context holding the TLS files. The stand-in `earthly`
(tests/harness/fake_earthly.py) uses the real docker CLI, so its export meets the daemon exactly as Earthly would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.harness import netns as nsh
from tests.harness.dockerd import install_fake_earthly
from tests.harness.tls_certs import CertDir, make_certs
from tests.helpers.doctor import diagnose, doctor, finding

pytestmark = pytest.mark.daemon

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
EXPORTED = "Image +img output as"
REFUSED = "connect: connection refused"
PERMISSION_ADVICE = "usermod -aG docker"


class Dind:
    def __init__(self, ns: nsh.Netns, certs: CertDir) -> None:
        self.ns, self.certs = ns, certs
        self.host = f"tcp://{ns.ns_addr}:2376"

    def env(self, **extra: str) -> dict[str, str]:
        """The agent's environment from Jenkins' guide, plus a CA bundle for other tools (an enterprise agent)."""
        return {"DOCKER_HOST": self.host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(self.certs.client),
                "REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE, "CURL_CA_BUNDLE": SYSTEM_BUNDLE, **extra}


def _needs_netns() -> None:
    reason = nsh.why_unavailable() or (None if shutil.which("openssl") else "openssl not found")
    if reason:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true but the TLS daemon cannot start: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def dind() -> Iterator[Dind]:
    _needs_netns()
    root = Path(tempfile.mkdtemp(prefix="ed-tls-"))
    try:
        with nsh.netns(os.getpid() % 200 + 30) as ns:
            certs = make_certs(root / "certs", [ns.ns_addr])  # docker:dind's DOCKER_TLS_CERTDIR
            with nsh.daemon_in_netns(ns, extra_args=certs.daemon_args("tcp://0.0.0.0:2376")):
                yield Dind(ns, certs)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DOCKER_", "EARTHLY_")) and k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    return {**env, "HOME": str(home), "NO_COLOR": "1", "COLUMNS": "100", **extra}


def ed110(report: dict) -> dict:
    return finding(report, "ED110")


def export(fake_bin: Path, env: dict[str, str], cwd: Path) -> str:
    """The stand-in build with this environment, in cwd (where Earthly reads .env)."""
    full = {**env, "PATH": f"{fake_bin}:{env['PATH']}", "FAKE_EARTHLY_IMAGE": f"ed-tls/{uuid.uuid4().hex[:8]}:latest"}
    result = subprocess.run([sys.executable, str(fake_bin / "earthly"), "+img"], env=full, cwd=cwd,
                            capture_output=True, text=True, timeout=120)
    return result.stdout + result.stderr


def assert_remote_verdict_and_fix(report: dict, env: dict[str, str], tmp_path: Path) -> None:
    verdict = report["verdict"]
    assert verdict["cause"] == "proxy-unreachable-remote-daemon", verdict
    assert verdict["confidence"] == "proven" and verdict["remedies"][0] == "disable-proxy"
    daemon = ed110(report)
    assert daemon["status"] == "pass" and "2376" in daemon["summary"]
    tls = next(e for e in daemon["evidence"] if e["fact"] == "tls")
    assert "ca.pem" in tls["value"] and "cert.pem" in tls["value"]

    fake_bin, ws = tmp_path / "bin", tmp_path / "ws"
    install_fake_earthly(fake_bin)
    ws.mkdir()
    before = export(fake_bin, env, ws)
    assert REFUSED in before, before
    # The first remedy, applied as a user would: fix --apply in the build's folder writes .env.
    (tmp_path / "report.json").write_text(json.dumps(report))
    fixed = doctor("fix", "--from", str(tmp_path / "report.json"), "--apply", env=env, cwd=ws)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true" in (ws / ".env").read_text()
    after = export(fake_bin, env, ws)
    assert EXPORTED in after and REFUSED not in after, after


def test_by_environment_with_a_ca_bundle_for_other_tools(dind, tmp_path):
    """Jenkins' guide: DOCKER_HOST=tcp://docker:2376, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=/certs/client; the
    REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE of an enterprise agent must not replace the daemon's CA."""
    env = clean_env(tmp_path, **dind.env())
    report = diagnose(env, tmp_path)
    assert_remote_verdict_and_fix(report, env, tmp_path)


def test_by_docker_context_with_tls_material(dind, tmp_path):
    """`docker context create dind --docker host=…,ca=…,cert=…,key=…` then `docker context use dind`: the TLS
    files live under ~/.docker/contexts/tls/<sha256 of the name>/docker/."""
    env = clean_env(tmp_path, REQUESTS_CA_BUNDLE=SYSTEM_BUNDLE)
    client = dind.certs.client
    spec = f"host={dind.host},ca={client / 'ca.pem'},cert={client / 'cert.pem'},key={client / 'key.pem'}"
    for argv in (["context", "create", "dind", "--docker", spec], ["context", "use", "dind"]):
        made = subprocess.run(["docker", *argv], env=env, capture_output=True, text=True, timeout=30)
        assert made.returncode == 0, made.stderr
    assert list((tmp_path / ".docker" / "contexts" / "tls").glob("*/docker/ca.pem"))
    report = diagnose(env, tmp_path)
    assert "dind" in next(e for e in ed110(report)["evidence"] if e["fact"] == "endpoint")["source"]
    assert_remote_verdict_and_fix(report, env, tmp_path)


def test_the_wrong_ca_is_a_tls_finding_naming_the_file(dind, tmp_path):
    other = make_certs(tmp_path / "other", [dind.ns.ns_addr])  # a CA the daemon never heard of
    env = clean_env(tmp_path, **dind.env(DOCKER_CERT_PATH=str(other.client)))
    report = diagnose(env, tmp_path)
    daemon = ed110(report)
    assert daemon["status"] == "fail" and daemon["error_kind"] == "tls-unknown-ca", daemon
    assert str(other.client / "ca.pem") in daemon["summary"] and "DOCKER_CERT_PATH" in daemon["summary"]
    assert PERMISSION_ADVICE not in json.dumps(report) and "permission denied" not in json.dumps(report)
    assert report["verdict"]["cause"] == "docker-unreachable"


def test_plain_http_to_the_tls_port_is_a_tls_finding(dind, tmp_path):
    env = clean_env(tmp_path, DOCKER_HOST=dind.host)  # DOCKER_TLS_VERIFY forgotten
    report = diagnose(env, tmp_path)
    daemon = ed110(report)
    assert daemon["error_kind"] == "tls-plain-to-tls", daemon
    assert "DOCKER_TLS_VERIFY=1" in daemon["summary"] and "/certs/client" in daemon["summary"]
    assert PERMISSION_ADVICE not in json.dumps(report)


def test_client_certificate_missing_is_a_tls_finding(dind, tmp_path):
    only_ca = tmp_path / "only-ca"
    only_ca.mkdir()
    shutil.copy(dind.certs.client / "ca.pem", only_ca / "ca.pem")
    env = clean_env(tmp_path, **dind.env(DOCKER_CERT_PATH=str(only_ca)))
    daemon = ed110(diagnose(env, tmp_path))
    assert daemon["error_kind"] == "tls-client-cert", daemon
    assert f"cert.pem and key.pem in {only_ca}" in daemon["summary"]


def test_a_missing_ca_stops_the_docker_cli_and_is_said_so(dind, tmp_path):
    env = clean_env(tmp_path, **dind.env(DOCKER_CERT_PATH=str(tmp_path / "nowhere")))
    cli = subprocess.run(["docker", "version"], env=env, capture_output=True, text=True, timeout=30)
    assert cli.returncode != 0 and "ca.pem" in cli.stderr  # the docker CLI itself refuses: so would Earthly
    daemon = ed110(diagnose(env, tmp_path))
    assert daemon["error_kind"] == "tls-files" and str(tmp_path / "nowhere" / "ca.pem") in daemon["summary"]


def test_tls_to_a_plain_port_is_a_tls_finding(tmp_path):
    """A plain dockerd on 2375 in its own namespace, reached with DOCKER_TLS_VERIFY set (certificates unrelated)."""
    _needs_netns()
    certs = make_certs(tmp_path / "certs", ["10.0.0.1"])
    with nsh.netns(os.getpid() % 200 + 31) as ns, nsh.daemon_in_netns(ns, tcp=True):
        env = clean_env(tmp_path, DOCKER_HOST=f"tcp://{ns.ns_addr}:2375", DOCKER_TLS_VERIFY="1",
                        DOCKER_CERT_PATH=str(certs.client))
        daemon = ed110(diagnose(env, tmp_path))
    assert daemon["error_kind"] == "tls-to-plain", daemon
    assert "unset DOCKER_TLS_VERIFY" in daemon["summary"]


@pytest.mark.parametrize("command", ["run", "preflight", "bundle"])
def test_every_command_resolves_the_tls_endpoint(dind, tmp_path, command):
    env = clean_env(tmp_path, **dind.env())
    fake_bin = tmp_path / "bin"
    install_fake_earthly(fake_bin)
    env["PATH"] = f"{fake_bin}:{env['PATH']}"
    env["FAKE_EARTHLY_IMAGE"] = f"ed-tls/{uuid.uuid4().hex[:8]}:latest"
    if command == "run":
        result = doctor("run", "--", "earthly", "+img", env=env, cwd=tmp_path)
        assert result.returncode == 0 and EXPORTED in result.stdout, result.stdout + result.stderr
        assert "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY" in result.stderr
    elif command == "preflight":
        result = doctor("preflight", "--format", "json", env=env, cwd=tmp_path)
        decision = json.loads(result.stdout)
        assert decision["env"].get("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY") == "true", decision
    else:
        out = tmp_path / "bundle.tar.gz"
        result = doctor("bundle", "--output", str(out), env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        import tarfile

        with tarfile.open(out) as tar:
            names = tar.getnames()
            report = next(n for n in names if n.endswith("report.json"))
            data = json.loads(tar.extractfile(report).read())  # type: ignore[union-attr]
        assert data["verdict"]["cause"] == "proxy-unreachable-remote-daemon", data["verdict"]
