"""docs/checks.md is generated from the check registry and must not go stale; `explain CODE` prints one doc."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from earthly_doctor.docs import render_catalog, render_check_doc
from earthly_doctor.plugins import load_checks

CATALOG = Path(__file__).resolve().parents[2] / "docs" / "checks.md"


def test_docs_checks_md_is_current():
    expected = render_catalog(load_checks().items)
    assert CATALOG.exists(), "docs/checks.md is missing: run `python -m earthly_doctor.docs docs/checks.md`"
    assert CATALOG.read_text() == expected, "docs/checks.md is stale: run `python -m earthly_doctor.docs docs/checks.md`"


def test_every_check_documents_what_why_example_and_fix():
    for check in load_checks().items:
        doc = check.doc
        assert all(len(part) > 20 for part in (doc.what, doc.why, doc.example, doc.fix)), check.code
        assert doc.example.startswith(check.code), f"{check.code}: the example should show the finding line"


def test_explain_prints_the_doc_and_rejects_unknown_codes():
    out = subprocess.run([sys.executable, "-m", "earthly_doctor", "explain", "ed101"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("# ED101: Container detection")
    check = next(c for c in load_checks().items if c.code == "ED101")
    assert out.stdout.strip() == render_check_doc(check).strip()
    bad = subprocess.run([sys.executable, "-m", "earthly_doctor", "explain", "ED999"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "ED101" in bad.stderr and "Traceback" not in bad.stderr
