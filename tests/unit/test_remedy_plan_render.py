"""The fix renderer: plain text has no ANSI; the rich skin prints diff text literally (no markup parsing)."""

from __future__ import annotations

import io

from rich.console import Console

from earthly_doctor.commands.fix import FixResult
from earthly_doctor.model import Confidence, Report, Verdict
from earthly_doctor.remedies.base import FileEdit, Plan, Refusal
from earthly_doctor.reports.plan import render_fix_plain, render_fix_rich
from pathlib import Path


def result() -> FixResult:
    edit = FileEdit(Path("/w/Jenkinsfile"), "jenkinsfile", "a\n[bold]x[/bold]\n", "a\n[bold]x[/bold]\nb\n", ["line 3: added b"], label="Jenkinsfile")
    plan = Plan("disable-proxy", "Disable Earthly's registry proxy", [edit], ["export X=true"], risks=["slower"],
                refusals=[Refusal(Path("build.sh"), 4, "cannot edit safely: nope")])
    report = Report([], Verdict("proxy-unreachable", "seen in a log", Confidence.LIKELY, ["disable-proxy"]), "0")
    return FixResult(report=report, ranked=["disable-proxy"], plans=[plan], not_offered=[("host-network", "does not apply")])


def test_plain():
    text = render_fix_plain(result())
    assert "\x1b[" not in text
    assert "Verdict: proxy-unreachable (likely)" in text
    assert "  not offered: host-network (does not apply)" in text
    assert "   refused: build.sh:4: cannot edit safely: nope; nothing was written" in text
    assert "     +b" in text and "     --- a/Jenkinsfile" in text
    assert "     $ export X=true" in text and "     - slower" in text
    assert text.rstrip().endswith("Dry run: nothing was written. To apply: earthly-doctor fix --apply --remedy disable-proxy")


def test_rich_prints_brackets_literally():
    out = io.StringIO()
    render_fix_rich(result(), Console(file=out, force_terminal=True, width=100))
    assert "[bold]x[/bold]" in out.getvalue()
