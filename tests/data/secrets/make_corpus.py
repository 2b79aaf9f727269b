"""Writes corpus.json: one realistic fake secret per kind, the log line it is planted in, and (for key blocks)
the body lines. Values are random (seeded) in each vendor's documented shape (gitleaks' rule for it); none is real.
Run: python tests/data/secrets/make_corpus.py > tests/data/secrets/corpus.json"""

from __future__ import annotations

import base64
import json
import random
import string
import sys

R = random.Random(20261204)
AN = string.ascii_letters + string.digits
LOW = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"


def r(alphabet: str, n: int) -> str:
    return "".join(R.choice(alphabet) for _ in range(n))


def b64(n: int) -> str:
    return base64.b64encode(R.randbytes(n)).decode()


def key_body(lines: int) -> list[str]:
    return [b64(48) for _ in range(lines)]


def jwt() -> str:
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps({"sub": r(LOW, 12), "iat": 1700000000}).encode()).decode().rstrip("=")
    return f"{head}.{body}.{base64.urlsafe_b64encode(R.randbytes(32)).decode().rstrip('=')}"


entries: list[dict[str, object]] = []


def add(kind: str, secret: str, line: str, **extra: object) -> None:
    assert secret in line or extra.get("body"), kind
    entries.append({"kind": kind, "secret": secret, "line": line, **extra})


def block(kind: str, begin: str, end: str, body_lines: int = 6, headers: list[str] | None = None) -> None:
    body = key_body(body_lines)
    entries.append({"kind": kind, "secret": body[2], "begin": begin, "end": end, "body": (headers or []) + body})


block("pem-rsa-private-key", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----")
block("pem-encrypted-rsa-private-key", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
      headers=["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,7F1A3C0E9B2D4F6A8C1E3B5D7F9A2C4E", ""])
block("openssh-private-key", "-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----")
block("ec-private-key", "-----BEGIN EC PRIVATE KEY-----", "-----END EC PRIVATE KEY-----", 3)
block("pkcs8-encrypted-private-key", "-----BEGIN ENCRYPTED PRIVATE KEY-----", "-----END ENCRYPTED PRIVATE KEY-----")
block("pgp-private-key-block", "-----BEGIN PGP PRIVATE KEY BLOCK-----", "-----END PGP PRIVATE KEY BLOCK-----", 8,
      headers=["Version: GnuPG v2", ""])
sa_body = b64(60)
add("gcp-service-account-json", sa_body,
    '{"type": "service_account", "project_id": "ci-builds", "private_key": "-----BEGIN PRIVATE KEY-----\\n'
    + sa_body + '\\n-----END PRIVATE KEY-----\\n", "client_email": "ci@ci-builds.iam.gserviceaccount.com"}')
v = r(AN, 40)
add("authorization-bearer", v, f"+ curl -sS -H 'Authorization: Bearer {v}' https://api.corp/v1/builds")
v = base64.b64encode(f"deploy:{r(AN, 18)}".encode()).decode()
add("authorization-basic", v, f"> Authorization: Basic {v}")
v = r(AN, 16)
add("url-credentials", v, f"+ git clone https://ci-bot:{v}@git.corp.example/platform/app.git")
v = r(AN, 7) + "/" + r(AN, 9)
add("url-password-with-slash", v, f"Pushing to https://deploy:{v}@registry.corp.example/v2/")
v = "11" + r(HEX, 32)
add("jenkins-api-token", v, f"+ curl -X POST https://jenkins.corp/job/x/build --user bot:{v}")
v = "ghp_" + r(AN, 36)
add("github-pat-classic", v, f"+ git remote set-url origin https://x-access-token:{v}@github.com/o/r")
v = "github_pat_11" + r(AN, 20) + "_" + r(AN, 59)
add("github-pat-fine-grained", v, f"GH_TOKEN={v} gh release create v1")
v = "AKIA" + r(string.ascii_uppercase + "234567", 16)
add("aws-access-key-id", v, f"+ export AWS_ACCESS_KEY_ID={v}")
v = r(AN + "/+", 40)
add("aws-secret-access-key", v, f"aws_secret_access_key = {v}")
v = "glpat-" + r(AN + "_-", 20)
add("gitlab-pat", v, f"+ git push https://oauth2:{v}@gitlab.com/group/app.git")
v = "glpat-" + r(AN, 20)
add("gitlab-pat-bare", v, f"Using GitLab token {v} for the release")
v = f"xoxb-{r(string.digits, 12)}-{r(string.digits, 13)}-{r(AN, 24)}"
add("slack-bot-token", v, f"slackSend(tokenCredentialId: 'x', token: '{v}')")
v = f"xoxp-{r(string.digits, 12)}-{r(string.digits, 12)}-{r(string.digits, 13)}-{r(HEX, 32)}"
add("slack-user-token", v, f"+ curl -d token={v} https://slack.com/api/chat.postMessage")
UD = string.ascii_uppercase + string.digits
v = f"services/T{r(UD, 8)}/B{r(UD, 10)}/{r(AN, 24)}"
add("slack-webhook", v, f"+ curl -X POST -d @msg.json https://hooks.slack.com/{v}")
v = jwt()
add("jwt", v, f"id_token={v}; expires in 3600")
v = r(AN, 14)
add("curl-user-password", v, f"+ curl -fsSL -u deployer:{v} https://nexus.corp/repository/raw/app.tgz")
v = r(AN, 8) + " " + r(AN, 8)
add("curl-user-quoted", v, f"+ curl --user \"admin:{v}\" https://artifactory.corp/api/system/ping")
v = r(AN, 20)
add("docker-login-p", v, f"+ docker login -u ci -p {v} registry.corp.example")
v = r(AN, 20)
add("docker-login-password", v, f"+ docker login --username ci --password {v} ghcr.io")
v = r(AN, 20)
add("docker-login-password-equals", v, f"+ docker login --username=ci --password={v} quay.io")
v = r(AN, 18)
add("cli-password-flag", v, f"+ helm repo add internal https://charts.corp --username ci --password {v}")
v = r(AN, 22)
add("secret-variable", v, f"DB_PASSWORD={v}")
v = "sk_live_" + r(AN, 24)
add("stripe-live-key", v, f"STRIPE={v}")
v = "npm_" + r(AN, 36)
add("npm-token", v, f"//registry.npmjs.org/:_authToken={v}")
v = "pypi-AgEIcHlwaS5vcmc" + r(AN + "_-", 60)
add("pypi-token", v, f"+ twine upload -u __token__ -p {v} dist/*")
v = "SG." + r(AN, 22) + "." + r(AN, 43)
add("sendgrid-key", v, f"mail relay key {v}")
v = "AIza" + r(AN + "_-", 35)
add("google-api-key", v, f"maps key {v} loaded")
v = "hvs." + r(AN + "_-", 95)
add("vault-token", v, f"VAULT={v}")
v = "dop_v1_" + r(HEX, 64)
add("digitalocean-token", v, f"+ doctl auth init -t {v}")
v = "shpat_" + r(HEX, 32)
add("shopify-token", v, f"shop token {v}")
v = "hf_" + r(string.ascii_letters, 34)
add("huggingface-token", v, f"+ huggingface-cli login --token {v}")
v = "AGE-SECRET-KEY-1" + r("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
add("age-secret-key", v, v)
v = "sk-ant-api03-" + r(AN + "_-", 93) + "AA"
add("anthropic-key", v, f"ANTHROPIC={v}")
v = "dp.pt." + r(AN, 43)
add("doppler-token", v, f"doppler token {v}")
v = "glsa_" + r(AN, 32) + "_" + r(HEX, 8)
add("grafana-sa-token", v, f"grafana {v}")
v = "PMAK-" + r(HEX, 24) + "-" + r(HEX, 34)
add("postman-key", v, f"postman {v}")
v = "dapi" + r(HEX, 32)
add("databricks-token", v, f"+ databricks configure --token {v}")
v = "sntryu_" + r(HEX, 64)
add("sentry-user-token", v, f"sentry {v}")
v = "pul-" + r(HEX, 40)
add("pulumi-token", v, f"+ pulumi login with {v}")
v = r(AN, 86) + "=="
add("azure-storage-account-key", v,
    f"DefaultEndpointsProtocol=https;AccountName=cibuilds;AccountKey={v};EndpointSuffix=core.windows.net")
json.dump({"about": __doc__.splitlines()[0], "entries": entries}, sys.stdout, indent=1)
sys.stdout.write("\n")
