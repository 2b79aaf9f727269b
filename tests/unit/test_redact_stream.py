"""Redaction as a streaming filter: the planted-secret corpus (tests/data/secrets/corpus.json, 45+ kinds with
realistic fake values) against the line rules; private key state across lines and across chunk borders; gitleaks'
rule set loaded as data with its source."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from earthly_doctor.commands.bundle_excerpt import LineSplitter
from earthly_doctor.redact import KeyBlocks, Redactor
from earthly_doctor.secret_rules import check_all, gitleaks_rules, shannon, translate

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "secrets" / "corpus.json").read_text())["entries"]


def as_text(entry: dict) -> str:
    if "body" in entry:
        return "\n".join([entry["begin"], *entry["body"], entry["end"]]) + "\n"
    return entry["line"] + "\n"


def leaked(entry: dict, text: str) -> list[str]:
    """The secret, or any run of 6+ characters of a multi-word one, still in `text`."""
    pieces = [entry["secret"], *[p for p in entry["secret"].split() if len(p) >= 6]]
    if "body" in entry:
        pieces += entry["body"][-2:]
    return [p for p in pieces if p and p in text]


def test_the_corpus_has_thirty_kinds_at_least():
    assert len({e["kind"] for e in CORPUS}) >= 30


@pytest.mark.parametrize("entry", CORPUS, ids=[e["kind"] for e in CORPUS])
def test_every_corpus_kind_is_redacted_and_listed(entry):
    r = Redactor()
    out = r.text(as_text(entry), "logs/x")
    assert leaked(entry, out) == []
    assert r.redactions, "a redaction must be listed in the manifest"
    assert entry["secret"] not in json.dumps(r.summary())


@pytest.mark.parametrize("begin,end", [(e["begin"], e["end"]) for e in CORPUS if "body" in e])
def test_one_manifest_entry_per_key_block_at_its_begin(begin, end):
    r = Redactor()
    out = r.text(f"before\n{begin}\nAAAA\nBBBB\n{end}\nafter\n", "f")
    assert out == "before\n" + "<redacted:private-key>\n" * 4 + "after\n"
    assert [(x.kind, x.line) for x in r.redactions] == [("private-key", 2)]


def test_key_state_holds_across_lines_and_inside_one_line():
    keys = KeyBlocks()
    assert keys.line(b"prefix -----BEGIN EC PRIVATE KEY----- MHcCAQEE") == (b"prefix <redacted:private-key>", [1])
    assert keys.line(b"[2024-01-22T23:20:53.000Z] AwEHoUQDQgAE") == (b"<redacted:private-key>", [1])
    assert keys.line(b"-----END EC PRIVATE KEY----- tail") == (b"<redacted:private-key> tail", [1])
    assert keys.line(b"ordinary") == (b"ordinary", [])
    one = b'{"k": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n", "ok": 1}'
    assert keys.line(one) == (b'{"k": "<redacted:private-key>\\n", "ok": 1}', [2])
    # An END with no BEGIN before it is plain text; a BEGIN with no END redacts to the end of the input.
    assert keys.line(b"-----END RSA PRIVATE KEY-----") == (b"-----END RSA PRIVATE KEY-----", [])
    keys.line(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert all(keys.line(b"x" * 10)[0] == b"<redacted:private-key>" for _ in range(100))


def test_a_public_key_or_certificate_is_not_a_private_key():
    text = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PUBLIC KEY-----\nMFkw\n"
    assert Redactor().text(text, "f") == text


def _split(data: bytes, sizes: list[int], cap: int = 2000) -> list:
    splitter, lines, pos = LineSplitter(cap), [], 0
    for size in sizes:
        lines += list(splitter.feed(data[pos : pos + size]))
        pos += size
    lines += list(splitter.feed(data[pos:]))
    return lines + list(splitter.finish())


@pytest.mark.parametrize("seed", range(8))
def test_markers_are_found_across_any_chunk_split(seed):
    data = (b"a\n" * 3 + b"x" * 500 + b"-----BEGIN RSA PRIVATE KEY-----" + b"y" * 3000 + b"\nbody\n"
            + b"-----END RSA PRIVATE KEY-----\nz")
    rng = random.Random(seed)
    lines = _split(data, [rng.randint(1, 40) for _ in range(200)], cap=100)
    assert [ln.number for ln in lines] == [1, 2, 3, 4, 5, 6, 7]
    assert lines[3].length == 500 + 31 + 3000 and len(lines[3].shown) == 100
    assert lines[3].markers == [(True, 500, 531)]  # found beyond the part kept, and only once
    assert lines[5].markers == [(False, 0, 29)] and lines[6].shown == b"z"
    keys = KeyBlocks()
    shown = [keys.line(ln.shown, ln.markers)[0] for ln in lines]
    assert shown[3] == b"x" * 100  # the BEGIN lies past the 100 bytes shown: nothing of the key is in them
    assert shown[4] == b"<redacted:private-key>" and shown[6] == b"z"


def test_gitleaks_rules_are_data_with_their_source():
    rules = gitleaks_rules()
    assert "github.com/gitleaks/gitleaks/blob/" in rules.source
    assert len(rules.rules) >= 200 and all("paths only" in s for s in rules.skipped)
    assert check_all(rules) == []  # every RE2 pattern translates to a Python regex
    assert {"gitlab-pat", "slack-bot-token", "slack-webhook-url", "jwt", "private-key"} <= {r.id for r in rules.rules}


def test_re2_spellings_are_translated():
    assert translate(r"\b(p8e-(?i)[a-z0-9]{32})\z") == (r"\b(p8e-[a-z0-9]{32})\Z", 2)
    assert translate("[[:alnum:]]+")[0] == "[a-zA-Z0-9]+"
    assert shannon("aaaa") == 0 and shannon("ab") == 1


@pytest.mark.parametrize("text", [
    "+ docker run -t -d -u 1000:1000 -w /var/lib/jenkins/workspace/app earthly/earthly:v0.8.15 cat",
    "+ docker login --password-stdin -u ci registry.corp",
    "+ docker login -u ci -p $REGISTRY_PASSWORD registry.corp",
    "+ curl -u \"$USER:$TOKEN\" https://nexus.corp/",
    "Get \"http://127.0.0.1:35137/v2/\": dial tcp 127.0.0.1:35137: connect: connection refused",
    "https://jenkins.corp/job/app/job/feature%2Fx/42/console",
    "sha256:" + "0123456789abcdef" * 4,
])
def test_look_alikes_stay_readable(text):
    r = Redactor()
    assert r.text(text, "f") == text and r.redactions == []
