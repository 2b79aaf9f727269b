"""`earthly-doctor bundle`: secrets of every kind are planted where support bundles pick things up (environment,
Docker config, Earthly config, .env, Jenkinsfile, build log); the bundle holds what support needs and none of them."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

JENKINS_TOKEN = "11" + "0123456789abcdef0123456789abcdef"
JENKINS_TOKEN_2 = "11" + "fedcba9876543210fedcba9876543210"
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY_ID = "AKIA" + "ZQXWCEVRBTNYMU12"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9x8w7v6u"
URL_PASSWORD = "pr0xy-Passw0rd"
DB_PASSWORD = "db-Secret-Value-42"
REGISTRY_PASSWORD = "reg-Password-99"
REGISTRY_AUTH = base64.b64encode(f"deploy:{REGISTRY_PASSWORD}".encode()).decode()
IDENTITY_TOKEN = "idtok-Zm9vYmFyYmF6cXV4"
BEARER = "bearer-Token-XYZ-123"
BASIC = base64.b64encode(b"admin:basic-Pass-77").decode()
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
GIT_PASSWORD = "git-Passw0rd-55"
EARTHLY_TOKEN = "earthly-Tok-1234567890"
GENERIC_SECRET = "plain-Looking-Value-31"  # no pattern would see this one: only its variable's name gives it away
JENKINSFILE_PASSWORD = "jf-Password-66"

SECRETS = {
    "jenkins-api-token": [JENKINS_TOKEN, JENKINS_TOKEN_2],
    "github-token": [GITHUB_TOKEN],
    "aws-access-key-id": [AWS_KEY_ID],
    "aws-secret-access-key": [AWS_SECRET],
    "url-credentials": [URL_PASSWORD],
    "docker-auth": [REGISTRY_AUTH, REGISTRY_PASSWORD, IDENTITY_TOKEN],
    "authorization-header": [BEARER, BASIC, "basic-Pass-77"],
    "private-key": [PEM_BODY],
    "secret-variable": [DB_PASSWORD, GIT_PASSWORD, EARTHLY_TOKEN, GENERIC_SECRET, JENKINSFILE_PASSWORD],
}
ALL = [s for values in SECRETS.values() for s in values]

ERROR_PAIR = (
    "[2024-01-22T23:20:55.244Z] Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    "[2024-01-22T23:20:55.244Z] \t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: "
    'exit status 1: Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: '
    "connection refused: exit status 1\n"
)


@pytest.fixture
def planted(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".docker").mkdir(parents=True)
    (home / ".earthly").mkdir(parents=True)
    work.mkdir()
    (home / ".docker" / "config.json").write_text(json.dumps({
        "auths": {"registry.example.com": {"auth": REGISTRY_AUTH},
                  "ghcr.io": {"identitytoken": IDENTITY_TOKEN},
                  "quay.io": {"username": "deploy", "password": REGISTRY_PASSWORD}},
        "proxies": {"default": {"httpProxy": f"http://proxyuser:{URL_PASSWORD}@proxy.corp:3128", "noProxy": "127.0.0.1"}},
        "currentContext": "default",
    }))
    (home / ".earthly" / "config.yml").write_text(
        "global:\n"
        "  buildkit_host: tcp://127.0.0.1:8372\n"
        "  local_registry_host: tcp://127.0.0.1:8371\n"
        "git:\n"
        "  github.com:\n"
        "    auth: https\n"
        "    user: bob\n"
        f"    password: {GIT_PASSWORD}\n"
    )
    (work / ".env").write_text(f"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=false\nEARTHLY_TOKEN={EARTHLY_TOKEN}\n")
    (work / "Jenkinsfile").write_text(
        "pipeline {\n"
        "  agent { docker { image 'earthly/earthly:v0.8.0' args '-v /var/run/docker.sock:/var/run/docker.sock' } }\n"
        "  environment {\n"
        f"    JENKINS_TOKEN = '{JENKINS_TOKEN_2}'\n"
        f"    REGISTRY_PASSWORD = \"{JENKINSFILE_PASSWORD}\"\n"
        "    GH = credentials('github-token')\n"
        "  }\n"
        "  stages { stage('build') { steps {\n"
        f"    sh \"curl -H 'Authorization: Bearer {BEARER}' https://ci:{URL_PASSWORD}@nexus.corp/repo\"\n"
        "    sh 'earthly +image'\n"
        "  } } }\n"
        "}\n"
    )
    log = work / "build.log"
    log.write_text(
        "".join(f"[2024-01-22T23:20:{i % 60:02d}.000Z]               output | step {i}\n" for i in range(200))
        + f"[2024-01-22T23:20:50.000Z] + curl -H 'Authorization: Basic {BASIC}' https://example.com\n"
        + f"[2024-01-22T23:20:51.000Z] + export GITHUB_TOKEN={GITHUB_TOKEN} AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"
        + f"[2024-01-22T23:20:52.000Z] aws_secret_access_key = {AWS_SECRET}\n"
        + "[2024-01-22T23:20:53.000Z] -----BEGIN RSA PRIVATE KEY-----\n"
        + f"[2024-01-22T23:20:53.000Z] {PEM_BODY}\n"
        + "[2024-01-22T23:20:53.000Z] -----END RSA PRIVATE KEY-----\n"
        + f"[2024-01-22T23:20:54.000Z] connecting with token {JENKINS_TOKEN} and {DB_PASSWORD}\n"
        + ERROR_PAIR
        + "".join(f"[2024-01-22T23:21:{i % 60:02d}.000Z] after {i}\n" for i in range(100))
    )
    sa = work / "service-account.json"
    sa.write_text(json.dumps({"type": "service_account", "private_key_id": "abc",
                              "private_key": f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n"}))
    env = {
        "PATH": os.environ["PATH"], "HOME": str(home), "NO_COLOR": "1", "LANG": "C.UTF-8",
        "JENKINS_URL": "https://jenkins.corp/", "BUILD_URL": f"https://admin:{URL_PASSWORD}@jenkins.corp/job/x/1/",
        "JENKINS_API_TOKEN": JENKINS_TOKEN, "GITHUB_TOKEN": GITHUB_TOKEN,
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "DATABASE_PASSWORD": DB_PASSWORD, "MY_SERVICE_SECRET": GENERIC_SECRET,
        "GOOGLE_APPLICATION_CREDENTIALS": str(sa), "GCP_SA_KEY": sa.read_text(),
        "HTTP_PROXY": f"http://proxyuser:{URL_PASSWORD}@proxy.corp:3128",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    return work, env, log


def make_bundle(work: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "earthly_doctor", "bundle", "--docker-host", f"unix://{work}/no-daemon.sock", *args],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )


def extract(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_the_bundle_holds_what_support_needs_and_no_planted_secret(planted):
    work, env, log = planted
    out = work / "support.tar.gz"
    result = make_bundle(work, env, "-o", str(out), "--log", str(log))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert str(out) in result.stdout
    files = extract(out)
    assert {"manifest.json", "report.json", "environment.json", "versions.json", "earthly/config.yml",
            "earthly/dotenv", "docker/config.json", "jenkins/Jenkinsfile", "logs/build.log.excerpt.txt"} <= set(files)

    # No planted secret anywhere: contents, member names, or our own output.
    blob = b"\n".join(files.values()) + "\n".join(files).encode() + result.stdout.encode() + result.stderr.encode()
    leaked = [s for s in ALL if s.encode() in blob]
    assert leaked == []

    # Support still gets the substance.
    report = json.loads(files["report.json"])
    assert report["schema"] == "earthly-doctor/report/v1" and report["command"] == "bundle"
    ed160 = [f for f in report["findings"] if f["code"] == "ED160" and f.get("signature") == "proxy-unreachable"]
    assert ed160 and str(ed160[0]["port"]) == "35137"
    excerpt = files["logs/build.log.excerpt.txt"].decode()
    assert "dial tcp 127.0.0.1:35137: connect: connection refused" in excerpt
    assert "step 199" in excerpt and "after 19" in excerpt and "step 100" not in excerpt  # ±20 lines only
    docker_config = json.loads(files["docker/config.json"])
    assert set(docker_config["auths"]) == {"registry.example.com", "ghcr.io", "quay.io"}
    assert docker_config["auths"]["registry.example.com"]["auth"] == "<redacted:docker-auth>"
    assert docker_config["auths"]["quay.io"]["username"] == "deploy"
    assert "noProxy" in docker_config["proxies"]["default"]
    assert b"buildkit_host: tcp://127.0.0.1:8372" in files["earthly/config.yml"]
    assert b"user: bob" in files["earthly/config.yml"]
    assert b"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=false" in files["earthly/dotenv"]
    jenkinsfile = files["jenkins/Jenkinsfile"].decode()
    assert "credentials('github-token')" in jenkinsfile and "earthly +image" in jenkinsfile
    environment = json.loads(files["environment.json"])
    assert environment["env"]["JENKINS_URL"] == "https://jenkins.corp/"
    assert environment["env"]["GITHUB_TOKEN"] == "<redacted:github-token>"
    assert environment["env"]["MY_SERVICE_SECRET"] == "<redacted:secret-variable>"
    assert "facts" in environment and "docker" in environment["facts"]
    versions = json.loads(files["versions.json"])
    assert versions["earthly-doctor"] and versions["python"]

    # The manifest lists every file with its digest, and every redaction by file and kind, never the value.
    manifest = json.loads(files["manifest.json"])
    assert manifest["schema"] == "earthly-doctor/bundle/v1"
    assert {f["path"] for f in manifest["files"]} == set(files) - {"manifest.json"}
    kinds = {r["kind"] for r in manifest["redactions"]}
    assert set(SECRETS) <= kinds, set(SECRETS) - kinds
    where = {(r["file"], r["kind"]) for r in manifest["redactions"]}
    for expected in [("docker/config.json", "docker-auth"), ("earthly/config.yml", "secret-variable"),
                     ("jenkins/Jenkinsfile", "jenkins-api-token"), ("jenkins/Jenkinsfile", "authorization-header"),
                     ("logs/build.log.excerpt.txt", "private-key"), ("logs/build.log.excerpt.txt", "aws-secret-access-key"),
                     ("environment.json", "aws-access-key-id"), ("earthly/dotenv", "secret-variable")]:
        assert expected in where, expected
    assert all(set(r) <= {"file", "kind", "line", "name"} for r in manifest["redactions"])
    assert any(r.get("line") for r in manifest["redactions"] if r["file"] == "jenkins/Jenkinsfile")
    assert os.stat(out).st_mode & 0o077 == 0  # the bundle is readable by its owner only


def test_default_name_and_no_jenkinsfile_note(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NO_COLOR": "1"}
    result = make_bundle(tmp_path, env, "--timeout", "3")
    assert result.returncode == 0, result.stderr
    written = list(tmp_path.glob("earthly-doctor-bundle-*.tar.gz"))
    assert len(written) == 1
    manifest = json.loads(extract(written[0])["manifest.json"])
    assert any("no Jenkinsfile" in n for n in manifest["notes"])
    assert manifest["verdict"] == "docker-unreachable"


def test_a_missing_log_is_one_line_and_exit_2(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NO_COLOR": "1"}
    result = make_bundle(tmp_path, env, "--log", str(tmp_path / "nope.log"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("earthly-doctor: error:") and "no such file" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.tar.gz"))
