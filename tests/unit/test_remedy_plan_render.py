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
    assert "   refused: build.sh:4 (why: on stderr)" in text
    assert "     +b" in text and "     --- a/Jenkinsfile" in text
    assert "     $ export X=true" in text and "     - slower" in text
    # A refused plan is not offered for applying, and its reason is printed once.
    assert text.rstrip().endswith("Dry run: nothing was written.\ndisable-proxy: refused; there is nothing to apply")
    assert "cannot edit safely: nope" not in text and "To apply" not in text  # the CLI prints why once, on stderr


def test_plain_offers_the_exact_command_and_tells_already_from_nothing():
    res = result()
    res.plans[0].refusals = []
    command = "earthly-doctor fix --apply --from /r/report.json --remedy disable-proxy --file /w/Jenkinsfile"
    res.hints = {"disable-proxy": command}
    assert render_fix_plain(res).rstrip().endswith(f"To apply disable-proxy: {res.hints['disable-proxy']}")
    edit = res.plans[0].edits[0]
    edit.after = edit.before
    nothing = "disable-proxy: nothing to change in these files; see the steps and commands above"
    assert render_fix_plain(res).rstrip().endswith(nothing)
    edit.already = ["line 2: already there"]
    assert render_fix_plain(res).rstrip().endswith("disable-proxy: already applied; nothing to write")


def test_multi_line_notes_render_as_lines():
    res = result()
    res.plans[0].edits[0].notes = ["add this to the pod spec:\n  spec:\n    hostNetwork: true"]
    text = render_fix_plain(res)
    assert "     note: add this to the pod spec:\n             spec:\n               hostNetwork: true\n" in text
    assert "\\n" not in text


def test_rich_prints_brackets_literally():
    out = io.StringIO()
    render_fix_rich(result(), Console(file=out, force_terminal=True, width=100))
    assert "[bold]x[/bold]" in out.getvalue()
