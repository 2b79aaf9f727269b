"""The human report: verdict first, what to do, evidence for failures; rich on a TTY, plain lines otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment
from earthly_doctor.model import Confidence, Evidence, Finding, Report, Severity, Status, Verdict
from earthly_doctor.reports.text import render_plain, render_rich


def failing_report() -> Report:
    canary = Finding(
        "ED120", "Daemon reaches this namespace's loopback", Status.FAIL, Severity.HIGH,
        "the daemon could not reach 127.0.0.1:4000",
        [Evidence("daemon_error", "dial tcp 127.0.0.1:4000: connect: connection refused", "docker API /images/create")],
        ["disable-proxy", "host-network"],
    )
    daemon = Finding("ED110", "Docker daemon reachable", Status.PASS, summary="Docker 20.10", evidence=[Evidence("api_version", "1.41", "docker API /version")])
    verdict = Verdict("proxy-unreachable-bridge-container", "Earthly's registry proxy would be unreachable.", Confidence.PROVEN,
                      ["disable-proxy", "host-network"], ["ED120: refused"])
    return Report([daemon, canary], verdict, "0.1.0", duration_ms=12)


def test_plain_report_reads_as_a_story_with_no_ansi():
    text = render_plain(failing_report())
    lines = text.splitlines()
    assert lines[0] == "Verdict: proxy-unreachable-bridge-container (proven)"
    assert text.index("What to do") < text.index("Findings:")
    assert "1. Disable Earthly's registry proxy [disable-proxy]" in text
    assert "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true" in text
    assert "daemon_error = dial tcp 127.0.0.1:4000: connect: connection refused  [docker API /images/create]" in text
    assert "api_version" not in text  # evidence of passing checks only with -v
    assert "api_version" in render_plain(failing_report(), verbose=True)
    assert "\x1b" not in text and "│" not in text


def test_rich_report_on_a_terminal_has_colour_and_the_same_story():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100, color_system="standard")
    render_rich(failing_report(), console)
    out = buf.getvalue()
    assert "\x1b[" in out
    import re

    out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "Verdict: proxy-unreachable-bridge-container" in out
    assert "Disable Earthly's registry proxy" in out
    assert out.index("Verdict") < out.index("ED120")


def test_terminal_chooses_rich_only_on_a_tty_without_no_color():
    assert not Terminal(Environment(env={}, stdout=io.StringIO(), stdout_isatty=False)).rich
    assert Terminal(Environment(env={"TERM": "xterm"}, stdout=io.StringIO(), stdout_isatty=True)).rich
    assert not Terminal(Environment(env={"NO_COLOR": "1"}, stdout=io.StringIO(), stdout_isatty=True)).rich
    assert not Terminal(Environment(env={"TERM": "dumb"}, stdout=io.StringIO(), stdout_isatty=True)).rich
