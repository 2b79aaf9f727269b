"""Renderers for a fleet (`earthly-doctor merge`): one table of agents in text, JSON, Markdown or JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Callable

from earthly_doctor.fleet import Fleet, FleetRow
from earthly_doctor.sanitize import clean, escape_markdown

COLUMNS = ("agent", "node", "daemon", "verdict", "confidence", "first remedy", "when")
CELL_LIMIT = 80


def _cells(row: FleetRow) -> list[str]:
    values = (row.agent, row.node, row.daemon, row.cause, row.confidence, row.remedy or "-", row.when or "-")
    return [" ".join(clean(v, CELL_LIMIT).split()) or "-" for v in values]


def _headline(fleet: Fleet) -> str:
    causes = ", ".join(f"{cause} x{n}" for cause, n in sorted(fleet.causes.items())) or "none"
    return f"{len(fleet.rows)} agent(s), {len(fleet.needing_action)} needing action; causes: {causes}"


def render_text(fleet: Fleet) -> str:
    table = [list(COLUMNS), *(_cells(row) for row in fleet.rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:], "", _headline(fleet)]) + "\n"


def render_json(fleet: Fleet) -> str:
    return json.dumps(fleet.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _md(cell: str) -> str:
    return escape_markdown(cell)


def render_markdown(fleet: Fleet) -> str:
    out = [f"**earthly-doctor fleet**: {_md(_headline(fleet))}", "", "| " + " | ".join(COLUMNS) + " |",
           "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(_md(c) for c in _cells(row)) + " |" for row in fleet.rows]
    return "\n".join(out) + "\n"


def render_junit(fleet: Fleet) -> str:
    """One test case per agent; an agent whose verdict needs action is a failure naming the cause and the fix."""
    suite = ET.Element("testsuite", name="earthly-doctor fleet", tests=str(len(fleet.rows)),
                       failures=str(len(fleet.needing_action)), errors="0", skipped="0")
    for row in fleet.rows:
        case = ET.SubElement(suite, "testcase", classname="earthly_doctor.fleet", name=clean(row.agent, 200), time="0")
        if row.needs_action:
            failure = ET.SubElement(case, "failure", message=clean(f"{row.cause} ({row.confidence})", 300),
                                    type=clean(row.cause, 100))
            failure.text = clean(f"{row.summary}\nnode: {row.node}\ndaemon: {row.daemon}\n"
                                 f"first remedy: {row.remedy or 'none'}\nreport: {row.source}\nwhen: {row.when}")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


RENDERERS: dict[str, Callable[[Fleet], str]] = {
    "text": render_text, "json": render_json, "markdown": render_markdown, "junit": render_junit,
}
