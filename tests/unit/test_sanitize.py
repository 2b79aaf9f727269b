"""The one sanitiser (diagnose/sanitize.py): hostile text from a log or a server (OSC title, clear screen, C1
controls, BEL, BS, bidi overrides, lone surrogates, planted secrets, Markdown/HTML) through every renderer."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
from earthly_doctor import reports
from earthly_doctor.model import Confidence, Evidence, Finding, Report, Severity, Status, Verdict
from earthly_doctor.sanitize import Sanitiser, clean, escape_markdown, sanitize_report

OSC_TITLE = "\x1b]0;you have been pwned\x07"
OSC_ST = "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\"
CLEAR = "\x1b[2J\x1b[H"
C1_CSI = "\x9b2J"
C1_OSC = "\x9d0;c1 title\x9c"
BEL, BS, DEL = "\x07", "\x08", "\x7f"
BIDI = "\u202e\u2066"
HOSTILE = (f"stage{OSC_TITLE}{CLEAR} build{C1_CSI}{C1_OSC}{BEL}{BS}{DEL}{BIDI} done\rPASS all good"
           f"{OSC_ST}\udcff\ufffe")
SECRET = "glpat-" + "Zx81Kq0LmN4bVc7XyW2a"
MARKUP = "<img src=x onerror=alert(1)> [click](https://evil.example) **bold** `code` | cell"
FORBIDDEN = ["\x1b", "\x07", "\x08", "\x7f", "\x9b", "\x9d", "\x9c", "\u202e", "\u2066", "\udcff", "\ufffe", "\r",
             "you have been pwned", "[2J", "c1 title", SECRET]


def hostile_report() -> Report:
    finding = Finding(
        code="ED160", title=f"Known failure {HOSTILE}", status=Status.FAIL, severity=Severity.HIGH,
        summary=f"seen in {HOSTILE} with token {SECRET}; {MARKUP}",
        evidence=[Evidence("log_line", f"docker login -p {SECRET} x {HOSTILE}", f"build.log:{HOSTILE}")],
        remedies=["disable-proxy"], category="log",
        extra={"signature": "proxy-unreachable", "line": 7, "stage": f"Build {OSC_TITLE}", "node": f"agent{CLEAR}",
               "log": "build.log", "labels": [f"linux{BIDI}"]},
        detail=f"line one {HOSTILE}\nline two")
    verdict = Verdict("proxy-unreachable", f"summary {HOSTILE} {MARKUP}", Confidence.LIKELY, ["disable-proxy"],
                      [f"because {HOSTILE}"])
    return Report([finding], verdict, "1.0", command="triage", warnings=[f"warning {HOSTILE}"],
                  extra={"jenkins": {"url": "http://j/", "version": "2.516", "user": "a", "job": f"app{OSC_TITLE}"}})


def assert_clean(text: str) -> None:
    found = [f for f in FORBIDDEN if f in text]
    assert found == [], found


def test_clean_removes_every_kind_of_control_and_keeps_the_words():
    out = clean(HOSTILE)
    assert_clean(out)
    assert out.startswith("stage build") and "done\nPASS all good" in out and "link" in out and "\ufffd" in out
    assert clean(HOSTILE, multiline=False).count("\n") == 0 and "done\\nPASS" in clean(HOSTILE, multiline=False)
    assert clean("plain text, é ü 中文\tok") == "plain text, é ü 中文\tok"
    assert clean(clean(HOSTILE)) == clean(HOSTILE)


@pytest.mark.parametrize("cut", ["\x1b[", "\x1b]0;title never ended", "\x1b", "\x9b1"])
def test_a_sequence_cut_short_is_removed_too(cut):
    assert_clean(clean("a" + cut))


def test_markdown_escaping_opens_nothing():
    out = escape_markdown(MARKUP)
    assert "<img" not in out and "](https" not in out and "**bold**" not in out and "`code`" not in out
    assert "\\| cell" in out and " | cell" not in out and "&lt;img" in out


def test_the_sanitised_report_keeps_its_shape():
    report = sanitize_report(hostile_report())
    assert sanitize_report(report) is report  # idempotent: renderers may all call it
    f = report.findings[0]
    assert f.extra["line"] == 7 and f.extra["stage"] == "Build " and f.extra["node"] == "agent"
    assert f.detail is not None and f.detail.splitlines()[-1] == "line two"  # multi-line text keeps its lines
    assert report.to_dict()["jenkins"]["job"] == "app"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "junit", "sarif", "warnings-ng"])
def test_every_renderer_gets_clean_redacted_text(fmt):
    out = reports.render(fmt, hostile_report(), verbose=True)
    assert_clean(out)
    assert "<redacted:gitlab-token>" in out or "&lt;redacted:gitlab-token&gt;" in out \
        or "\\u003credacted:gitlab-token\\u003e" in out
    if fmt in ("json", "sarif", "warnings-ng"):
        assert_clean(json.dumps(json.loads(out), ensure_ascii=False))
    if fmt == "junit":
        ET.fromstring(out.encode())  # XML-illegal characters would make this raise
    if fmt == "markdown":
        assert "<img" not in out and "](https://evil" not in out


def test_the_rich_terminal_renderer_gets_clean_text():
    from earthly_doctor.reports.text import render_rich
    from rich.console import Console

    buf = io.StringIO()
    render_rich(hostile_report(), Console(file=buf, force_terminal=True, width=200, color_system=None), verbose=True)
    assert_clean(buf.getvalue())


def test_markup_in_a_title_is_not_rich_markup():
    from earthly_doctor.reports.text import render_rich
    from rich.console import Console

    report = hostile_report()
    report.findings[0].title = "[bold red]Known failure[/bold red]"
    buf = io.StringIO()
    render_rich(report, Console(file=buf, force_terminal=False, width=200), verbose=True)
    assert "[bold red]" in buf.getvalue()


_CORPUS = json.loads((__import__("pathlib").Path(__file__).parents[1] / "data" / "secrets" / "corpus.json")
                     .read_text())["entries"]
_PULL = ("[2024-01-22T23:20:55.244Z] Error: pull ping error: pull ping response: rpc error: code = Unknown desc = "
         "image pull: 1 error occurred: {extra}\n"
         "[2024-01-22T23:20:55.244Z] \t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/"
         "pullping:img-0: exit status 1: Error response from daemon: Get \"http://127.0.0.1:35137/v2/\": dial tcp "
         "127.0.0.1:35137: connect: connection refused: exit status 1 {extra}\n")


@pytest.mark.parametrize("entry", [e for e in _CORPUS if "line" in e], ids=lambda e: e["kind"])
def test_no_corpus_secret_reaches_a_triage_report(entry, tmp_path, capsys):
    """The secret sits in the very lines the report quotes (the failure and its context line)."""
    from earthly_doctor.cli import main

    log = tmp_path / "build.log"
    log.write_text(_PULL.format(extra=entry["line"]))
    for fmt in ("text", "json", "markdown", "junit", "sarif", "warnings-ng"):
        with pytest.raises(SystemExit):
            main(["triage", str(log), "--format", fmt, "-v"])
        out, err = capsys.readouterr()
        assert "proxy-unreachable" in out, (fmt, err)
        pieces = [entry["secret"], *[p for p in entry["secret"].split() if len(p) >= 6]]
        assert [p for p in pieces if p in out + err] == [], fmt


def test_a_sanitiser_that_saw_strings_before_gives_the_same_report():
    """`jenkins triage` passes each build's findings through its Sanitiser while other builds are read; the report
    it renders at the end must be what a fresh sanitiser makes of it, secrets redacted everywhere."""
    fresh = json.dumps(sanitize_report(hostile_report()).to_dict())
    warmed = Sanitiser()
    for finding in hostile_report().findings:
        warmed.finding(finding)
    warmed.text(f"token {SECRET} elsewhere")
    again = json.dumps(warmed.report(hostile_report()).to_dict())
    assert again == fresh
    assert SECRET not in again and "<redacted:" in again
    assert warmed.report(warmed.report(hostile_report())).to_dict() == json.loads(fresh)  # idempotent
