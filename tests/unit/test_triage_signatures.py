"""The signature knowledge base: every fixture of every built-in signature, and the validation of user files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from earthly_doctor.model import CAUSES, REMEDY_IDS
from earthly_doctor.triage import SignatureError, load_signatures, scan_text
from earthly_doctor.triage.scanner import fixture_failures
from earthly_doctor.triage.signatures import BUILTIN_DIR, parse_signature

SIGNATURES = load_signatures()
FIXTURES = [
    pytest.param(sig, kind, n, fx, id=f"{sig.id}-{kind}-{n}")
    for sig in SIGNATURES
    for kind, items in (("match", sig.matches), ("no_match", sig.no_matches))
    for n, fx in enumerate(items, 1)
]


def test_the_required_signatures_are_built_in():
    ids = {s.id for s in SIGNATURES}
    assert {
        "proxy-unreachable", "buildkitd-port-refused", "proxy-startup-failed", "proxy-disabled", "podman-fallback",
        "docker-unreachable", "docker-permission-denied", "buildkitd-crashed", "proxy-pull-other-error",
        "loopback-refused-other", "daemon-proxy-captures-loopback", "insecure-loopback-removed",
    } <= ids
    assert len(list(BUILTIN_DIR.glob("*.toml"))) == len(SIGNATURES)


@pytest.mark.parametrize("sig,kind,n,fx", FIXTURES)
def test_fixture(sig, kind, n, fx):
    matches = [m for m in scan_text(fx.text, SIGNATURES) if m.id == sig.id]
    if kind == "no_match":
        assert not matches, f"{sig.id} matched a look-alike: {matches[0].text!r}"
        return
    assert matches, f"{sig.id} did not match its fixture {n}"
    got = {k: v for k, v in matches[0].to_dict().items() if v is not None}
    for key, want in fx.expect.items():
        assert str(got.get(key)) == want, f"{key}: {got.get(key)!r} != {want!r}"


def test_fixture_runner_agrees():
    assert fixture_failures(SIGNATURES) == []


def test_every_signature_is_well_formed():
    for sig in SIGNATURES:
        assert sig.cause is None or sig.cause in CAUSES
        assert set(sig.remedies) <= set(REMEDY_IDS)
        assert sig.meaning and sig.title
        # Every match fixture carries one of the anchors, or the prefilter would never look at it.
        for fx in sig.matches:
            assert any(a in fx.text for a in sig.anchors), (sig.id, fx.text)


def test_the_unreachable_proxy_is_matched_in_both_daemon_wordings():
    proxy = next(s for s in SIGNATURES if s.id == "proxy-unreachable")
    stores = set()
    for fx in proxy.matches:
        for m in scan_text(fx.text, SIGNATURES):
            if m.id == "proxy-unreachable":
                stores.add(m.fields.get("store"))
    assert {"classic", "containerd"} <= stores


MINIMAL = """
id = "my-sig"
title = "Mine"
meaning = "A test signature."
kind = "failure"
status = "fail"
anchors = ["BOOM happened"]
pattern = '''BOOM happened at (?P<where>\\w+)'''
summary = "boom at {where}"
[fields]
where = "where"
[[fixtures.match]]
text = "x BOOM happened at home\\n"
expect = { where = "home" }
[[fixtures.no_match]]
text = "all quiet\\n"
"""


def _write(tmp_path: Path, body: str, name: str = "my.toml") -> Path:
    d = tmp_path / "sigs"
    d.mkdir(exist_ok=True)
    (d / name).write_text(textwrap.dedent(body))
    return d


def test_user_signatures_load_and_match(tmp_path):
    sigs = load_signatures([_write(tmp_path, MINIMAL)])
    assert "my-sig" in {s.id for s in sigs} and "proxy-unreachable" in {s.id for s in sigs}
    (m,) = [m for m in scan_text("[2024-01-01T00:00:00.000Z] BOOM happened at work\n", sigs) if m.id == "my-sig"]
    assert m.fields == {"where": "work"} and m.timestamp == "2024-01-01T00:00:00.000Z"


def test_a_user_file_replaces_a_builtin_with_the_same_id(tmp_path):
    body = MINIMAL.replace('id = "my-sig"', 'id = "buildkitd-crashed"')
    sigs = load_signatures([_write(tmp_path, body)])
    crashed = next(s for s in sigs if s.id == "buildkitd-crashed")
    assert crashed.title == "Mine"


@pytest.mark.parametrize(
    "change,message",
    [
        (("kind = \"failure\"", "kind = \"bad\""), "kind"),
        (("status = \"fail\"", "status = \"broken\""), "broken"),
        (("anchors = [\"BOOM happened\"]", "anchors = [\"ab\"]"), "at least 4 bytes"),
        (("anchors = [\"BOOM happened\"]", "anchors = []"), "must not be empty"),
        ((r"(?P<where>\w+)", r"(?P<where>\w+"), "does not compile"),
        ((r"(?P<where>\w+)", r"(?P<where>(a+)+)"), "catastrophic"),
        ((r"(?P<where>\w+)", r"(?P<where>(?:\w*\s*)*)"), "catastrophic"),
        (("where = \"where\"", "where = \"nowhere\""), r"group\(s\) the patterns do not have"),
        (("title = \"Mine\"", "title = \"Mine\"\nremedies = [\"reboot\"]"), "unknown remedy"),
        (("title = \"Mine\"", "title = \"Mine\"\ncause = \"gremlins\""), "not a verdict cause"),
        (("title = \"Mine\"", "title = \"Mine\"\ncolour = \"red\""), "unknown key"),
        (("title = \"Mine\"", "title = \"Mine\"\nsupersedes = [\"nothing-like-it\"]"), "supersedes unknown"),
        (("expect = { where = \"home\" }", "expect = { where = \"away\" }"), "fixtures fail"),
        ((r'text = "all quiet\n"', r'text = "BOOM happened at sea\n"'), "fixtures fail"),
        (("id = \"my-sig\"", "id = \"My Sig\""), "lowercase"),
        (("where = \"where\"", "stage = \"where\""), "reserved"),
    ],
)
def test_bad_user_signatures_are_one_clear_error(tmp_path, change, message):
    old, new = change
    assert old in MINIMAL, old
    with pytest.raises(SignatureError, match=message):
        load_signatures([_write(tmp_path, MINIMAL.replace(old, new))])


def test_not_toml_and_not_a_directory(tmp_path):
    with pytest.raises(SignatureError, match="not valid TOML"):
        load_signatures([_write(tmp_path, "id = ")])
    with pytest.raises(Exception, match="not a directory"):
        load_signatures([tmp_path / "missing"])


def test_possessive_and_bounded_repeats_are_accepted():
    data = {
        "id": "ok", "title": "t", "meaning": "m", "kind": "info", "status": "pass", "anchors": ["abcd"],
        "pattern": r"abcd(?:[a-z]{0,100}\s*)*+x|abcd(?:\w{1,50})+", "fixtures": {"match": [{"text": "abcdx"}]},
    }
    assert parse_signature(data, "inline").id == "ok"


def test_the_format_readme_example_is_a_valid_signature():
    import re
    import tomllib

    # From the checkout: the README is documentation, not package data.
    text = (Path(__file__).resolve().parents[2] / "diagnose" / "triage" / "signatures" / "README.md").read_text()
    data = tomllib.loads(re.search(r"```toml\n(.*?)```", text, re.S).group(1))
    sig = parse_signature(data, "signatures/README.md")
    assert [m.fields for m in scan_text(sig.matches[0].text, [sig])] == [{"pid": "4242"}]


@pytest.mark.parametrize("path", sorted(BUILTIN_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_builtin_passes_the_checks_it_skips_at_start_up(path):
    """Built-ins load `vetted` (no backtracking analysis at start-up, 23 ms of every run); this is where they get it."""
    import tomllib

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert parse_signature(data, str(path)) == parse_signature(data, str(path), vetted=True)
    nested = {**data, "pattern": "(a+)+" + data["pattern"]}
    with pytest.raises(SignatureError, match="catastrophic"):
        parse_signature(nested, str(path))
