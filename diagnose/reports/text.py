"""The human report: verdict first, then what to do, then the findings with their evidence.

Two skins over one layout: `render_rich` prints styled output to a rich Console (a TTY); `render_plain` returns
plain lines with no ANSI and no box drawing (CI logs, NO_COLOR, `--output text:FILE`).
"""

from __future__ import annotations

from typing import Any

from earthly_doctor.model import Finding, Report, Status
from earthly_doctor.reports.jenkins_summary import summary_lines
from earthly_doctor.triage.findings import LogHit

ICONS_PLAIN = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP", "error": "ERR "}
STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "error": "magenta"}
CONFIDENCE_STYLE = {"proven": "bold green", "likely": "yellow", "possible": "yellow", "unknown": "dim"}


def _value(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else repr(value) if not isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show_evidence(f: Finding, verbose: bool) -> bool:
    return verbose or f.status in (Status.FAIL, Status.WARN, Status.ERROR)


def _remedy_lines(report: Report) -> list[tuple[str, str]]:
    from earthly_doctor.remedy_catalog import describe

    lines = []
    for rank, rid in enumerate(report.verdict.remedies, 1):
        info = describe(rid)
        lines.append((f"{rank}. {info.title} [{rid}]", info.how))
    return lines


def _where(f: Finding) -> str | None:
    """Where a log finding was seen: `at build.log:24, stage Image` (None for live checks)."""
    hit = LogHit.of(f)
    if hit is None or hit.line is None or not hit.signature:
        return None
    return hit.where()


def render_plain(report: Report, *, verbose: bool = False, **_: object) -> str:
    out: list[str] = []
    v = report.verdict
    out.append(f"Verdict: {v.cause} ({v.confidence.value})")
    out.append(f"  {v.summary}")
    for step in v.chain:
        out.append(f"  because {step}")
    remedies = _remedy_lines(report)
    if remedies:
        out.append("What to do (best first):")
        for title, how in remedies:
            out.append(f"  {title}")
            if how:
                out.append(f"     {how}")
    out.append("")
    out.append("Findings:")
    width = max((len(f.code) for f in report.findings), default=5)
    for f in report.findings:
        out.append(f"  {ICONS_PLAIN[f.status.value]} {f.code:<{width}} {f.title}: {f.summary}")
        where = _where(f)
        if where:
            out.append(f"         {where}")
        if _show_evidence(f, verbose):
            for e in f.evidence:
                out.append(f"         {e.fact} = {_value(e.value)}  [{e.source}]")
        if verbose and f.detail:
            out.extend("         " + line for line in f.detail.rstrip().splitlines())
    out.extend(summary_lines(report))
    for w in report.warnings:
        out.append(f"warning: {w}")
    counts = {s: sum(1 for f in report.findings if f.status.value == s) for s in ICONS_PLAIN}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    out.append(f"{len(report.findings)} checks: {summary or 'none'} ({report.duration_ms} ms)")
    return "\n".join(out) + "\n"


def render_rich(report: Report, console: Any, *, verbose: bool = False) -> None:
    from earthly_doctor.sanitize import sanitize_report
    from rich.console import Group
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    report = sanitize_report(report)
    v = report.verdict
    # Each piece is its own renderable so wrapped lines keep their indent (a hanging indent, not column 0).
    parts: list[Any] = [Text(v.summary)]
    for step in v.chain:
        parts.append(Padding(Text.assemble(("because ", "dim"), step), (0, 0, 0, 2)))
    remedies = _remedy_lines(report)
    if remedies:
        parts.append(Text("\nWhat to do (best first):", style="bold"))
        for remedy_title, how in remedies:
            parts.append(Padding(Text(remedy_title, style="bold cyan"), (0, 0, 0, 2)))
            if how:
                parts.append(Padding(Text(how), (0, 0, 0, 5)))
    title = Text.assemble(("Verdict: ", "bold"), (v.cause, "bold"), "  ", (v.confidence.value, CONFIDENCE_STYLE[v.confidence.value]))
    style = "green" if v.cause == "healthy" else "red" if v.confidence.value == "proven" else "yellow"
    console.print(Panel(Group(*parts), title=title, title_align="left", border_style=style))

    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("Code", no_wrap=True)
    table.add_column("Check")
    table.add_column("Result")
    for f in report.findings:
        detail = Text(f.summary)
        if _where(f):
            detail.append(f"\n{_where(f)}", style="cyan")
        if _show_evidence(f, verbose):
            for e in f.evidence:
                detail.append(f"\n{e.fact} = {_value(e.value)}", style="dim")
                detail.append(f"  [{e.source}]", style="dim italic")
        if verbose and f.detail:
            detail.append("\n" + f.detail.rstrip(), style="dim")
        # Text, not str: a str cell would be read as rich markup (`[red]` in a title would style the table).
        table.add_row(Text(f.status.value.upper(), style=STYLES[f.status.value]), Text(f.code), Text(f.title), detail)
    console.print(table)
    for line in summary_lines(report):
        console.print(Text(line), soft_wrap=True)  # a table row: the terminal may wrap it, rich must not
    for w in report.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    console.print(Text(f"{len(report.findings)} checks in {report.duration_ms} ms", style="dim"))
