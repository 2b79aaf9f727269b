"""The redaction rules: each kind of secret is caught where it usually appears, recorded by file, kind and line,
never by value; ordinary build output is left readable."""

from __future__ import annotations

import json

import pytest

from earthly_doctor.redact import Redactor, is_secret_name, redact_text

JENKINS = "11" + "0123456789abcdef0123456789abcdef"
GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PAT = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"
AKIA = "AKIA" + "ZQXWCEVRBTNYMU12"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9x8w7v6u"


@pytest.mark.parametrize(
    "text,secret,kind",
    [
        (f"user admin token {JENKINS} ok", JENKINS, "jenkins-api-token"),
        (f"curl -u admin:{JENKINS} https://j/", JENKINS, "jenkins-api-token"),
        ("git clone https://bob:hunter2-xyz@git.corp/repo.git", "hunter2-xyz", "url-credentials"),
        ("DOCKER_HOST=tcp://svc:p4ss-w0rd@dind:2375", "p4ss-w0rd", "url-credentials"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig", "authorization-header"),
        ("proxy-authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "authorization-header"),
        ('{"Authorization": "token abc-123-def"}', "abc-123-def", "authorization-header"),
        (f"export AWS_ACCESS_KEY_ID={AKIA}", AKIA, "aws-access-key-id"),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws-secret-access-key"),
        (f'"AWS_SECRET_ACCESS_KEY": "{AWS_SECRET}"', AWS_SECRET, "aws-secret-access-key"),
        (f"token: {GHP}", GHP, "github-token"),
        (f"GH={PAT}", PAT, "github-token"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAA", "private-key"),
        ('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n"}', "MIIEvQIBADANBg", "private-key"),
        ("export NPM_TOKEN=npm_abcdef123456", "npm_abcdef123456", "secret-variable"),
        ("DB_PASSWORD='two words'", "two words", "secret-variable"),
        ('  REGISTRY_PASSWORD = "xyz-987"', "xyz-987", "secret-variable"),
        ("--client-secret=s3cr3t-value", "s3cr3t-value", "secret-variable"),
        ("    password: gitpw-123", "gitpw-123", "secret-variable"),
        ('{"auth": "ZGVwbG95OnB3"}', "ZGVwbG95OnB3", "secret-variable"),
        ("SIGNING_KEY: abcdef0123", "abcdef0123", "secret-variable"),
        ("apiKey=k-4242-4242", "k-4242-4242", "secret-variable"),
    ],
)
def test_each_kind_is_caught(text, secret, kind):
    out, found = redact_text(text, "f")
    assert secret not in out
    assert f"<redacted:{kind}>" in out
    assert kind in {r.kind for r in found}
    assert all(secret not in repr(r) for r in found)


@pytest.mark.parametrize(
    "text",
    [
        "              output | --> exporting outputs",
        ('\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: '
        'Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection refused'),
        "sha256:" + "a" * 64,
        "commit 6e641c15d3b4d7dd396363b61d2381faa2658f3d",
        "monkey: banana; turkey=3; TOKEN_FILE=/run/secrets/token; cache key: 42",
        "GH = credentials('github-token')  TOKEN = ${env.TOKEN}  PASS=$PASSWORD",
        "https://jenkins.corp/job/x/1/console",
        "ssh://git@github.com/earthly/earthly.git",
    ],
)
def test_ordinary_text_is_left_alone(text):
    out, found = redact_text(text)
    assert out == text and found == []


def test_lines_are_recorded_and_values_never():
    text = "line one\nline two\nexport GITHUB_TOKEN=" + GHP + "\n\nPASSWORD=abc-def-ghi\n"
    r = Redactor()
    out = r.text(text, "jenkins/Jenkinsfile")
    assert GHP not in out and "abc-def-ghi" not in out
    assert [(x.file, x.kind, x.line) for x in r.redactions] == [
        ("jenkins/Jenkinsfile", "github-token", 3), ("jenkins/Jenkinsfile", "secret-variable", 5)]
    dumped = json.dumps(r.summary())
    assert GHP not in dumped and "abc-def-ghi" not in dumped


def test_docker_config_auths():
    config = {"auths": {"registry.example.com": {"auth": "ZGVwbG95OnB3", "email": "a@b.c"},
                        "ghcr.io": {"identitytoken": "id-token-123"}, "q.io": {"username": "u", "password": "pw-456"}},
              "credsStore": "desktop", "proxies": {"default": {"httpProxy": "http://u:proxy-pw@p:3128"}}}
    r = Redactor()
    out = r.json(config, "docker/config.json", docker_config=True)
    dumped = json.dumps(out)
    for secret in ("ZGVwbG95OnB3", "id-token-123", "pw-456", "proxy-pw"):
        assert secret not in dumped
    assert out["auths"]["registry.example.com"]["email"] == "a@b.c"
    assert out["credsStore"] == "desktop" and out["auths"]["q.io"]["username"] == "u"
    assert sorted(x.kind for x in r.redactions) == ["docker-auth", "docker-auth", "docker-auth", "url-credentials"]
    assert {x.name for x in r.redactions if x.kind == "docker-auth"} == {"auth", "identitytoken", "password"}


def test_gcp_service_account_json():
    sa = {"type": "service_account", "project_id": "p", "private_key_id": "0123abcd",
          "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n",
          "client_email": "x@p.iam.gserviceaccount.com"}
    r = Redactor()
    out = r.json(sa, "gcp.json")
    assert "MIIEvQIBADANBg" not in json.dumps(out)
    assert out["client_email"] == sa["client_email"] and out["project_id"] == "p"
    assert [x.kind for x in r.redactions] == ["private-key"]


def test_environment_names_and_learned_values():
    env = {"MY_SERVICE_SECRET": "plain-looking-value", "GITHUB_TOKEN": GHP, "HOME": "/root",
           "BUILD_URL": "https://admin:pw-999999@jenkins/job/1/", "EMPTY_TOKEN": "", "GH": "${GITHUB_TOKEN}"}
    r = Redactor()
    r.learn(env)
    out = r.environment(env, "environment.json")
    assert out["MY_SERVICE_SECRET"] == "<redacted:secret-variable>"
    assert out["GITHUB_TOKEN"] == "<redacted:github-token>"
    assert out["HOME"] == "/root" and out["EMPTY_TOKEN"] == "" and out["GH"] == "${GITHUB_TOKEN}"
    assert "pw-999999" not in out["BUILD_URL"]
    # A learned value is caught verbatim anywhere, even where no pattern would see it.
    text = r.text("the service answered plain-looking-value at step 3", "logs/x")
    assert "plain-looking-value" not in text
    assert r.redactions[-1].kind == "secret-variable" and r.redactions[-1].name == "MY_SERVICE_SECRET"


@pytest.mark.parametrize("name", ["JENKINS_API_TOKEN", "EARTHLY_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                                  "password", "auth", "apiKey", "client.secret", "SIGNING_KEY", "NPM_AUTH"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "PWD", "SSH_AUTH_SOCK", "TOKEN_FILE", "KEY", "monkey",
                                  "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY", "AWS_ACCESS_KEY_ID", "GIT_ASKPASS",
                                  "private_key_id", "DOCKER_AUTH_CONFIG_PATH"])
def test_not_secret_names(name):
    assert not is_secret_name(name)
