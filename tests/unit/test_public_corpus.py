"""The issue-13 corpora through the real CLI: public-thread excerpts (tests/data/public-logs/) and the export failure
of each Earthly generation rebuilt from source (tests/data/generations/). Each manifest (`corpus.toml`) gives a
file's source and the verdict an expert gives it: cause, exit code, signature set, per-address finding counts and
the fields the thread shows."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from earthly_doctor.cli.app import build_app
from typer.testing import CliRunner

DATA = Path(__file__).resolve().parents[1] / "data"
CORPORA = ("public-logs", "generations")


def _entries() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for corpus in CORPORA:
        manifest = tomllib.loads((DATA / corpus / "corpus.toml").read_text(encoding="utf-8"))
        found += [(corpus, entry) for entry in manifest["log"]]
    return found


ENTRIES = _entries()


def test_every_log_is_in_its_manifest_with_a_source():
    for corpus in CORPORA:
        listed = sorted(e["file"] for c, e in ENTRIES if c == corpus)
        assert listed == sorted(p.name for p in (DATA / corpus).glob("*.log"))
    assert all(e["source"] and e["how"] in ("verbatim", "framed", "reconstructed") for _, e in ENTRIES)
    public = [e for c, e in ENTRIES if c == "public-logs"]
    assert len(public) >= 20 and all(e["source"].startswith("https://github.com/") for e in public)


def test_no_public_excerpt_reuses_a_thread_of_the_older_corpus():
    older = (DATA.parent / "fixtures" / "logs" / "public" / "SOURCES.md").read_text(encoding="utf-8")
    reused = [e["file"] for c, e in ENTRIES if c == "public-logs"
              and any(url in older for url in e["source"].split(" and "))]
    assert reused == []


@pytest.mark.parametrize("corpus,entry", ENTRIES, ids=[e["file"] for _, e in ENTRIES])
def test_corpus_log_gets_the_experts_verdict(corpus: str, entry: dict[str, Any]):
    result = CliRunner().invoke(build_app(), ["triage", str(DATA / corpus / entry["file"]), "--format", "json"],
                                env={"NO_COLOR": "1", "COLUMNS": "100"})
    data = json.loads(result.stdout)
    assert (data["verdict"]["cause"], result.exit_code) == (entry["cause"], entry["exit"]), data["verdict"]["summary"]
    hits = [f for f in data["findings"] if f.get("signature")]
    assert {f["signature"] for f in hits} == set(entry["signatures"])
    counts = Counter(f["signature"] for f in hits)
    for sig, n in entry.get("findings", {}).items():
        assert counts[sig] == n
    for sig, want in entry.get("fields", {}).items():
        first = next(f for f in hits if f["signature"] == sig)
        assert {k: first.get(k) for k in want} == want
    assert "pinned-port" not in data["verdict"]["remedies"]  # a log never proves what ED131 proves live
