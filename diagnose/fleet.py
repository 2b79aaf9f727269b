"""Many agents' reports folded into one table: the model behind `earthly-doctor merge`.

A platform team runs the diagnosis on every node of a label (Jenkins schedules it) and wants one answer: which
agent, where its daemon is, what the verdict is, how sure, what to do first, and when it was seen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

FLEET_SCHEMA = "earthly-doctor/fleet/v1"
# Causes that need no action; every other cause counts against the fleet.
QUIET_CAUSES = frozenset({"healthy", "no-known-failure"})


@dataclass(frozen=True)
class FleetRow:
    agent: str  # the container or node the report speaks for
    node: str  # the Jenkins node (NODE_NAME) or host name it ran on
    daemon: str  # where the daemon is: kind and endpoint, as ED110 saw it
    cause: str
    confidence: str
    remedy: str  # the first remedy, "" when none applies
    when: str  # when the report was made (ISO 8601, UTC), "" when the report does not say
    source: str  # the report file
    summary: str = ""

    @property
    def needs_action(self) -> bool:
        return self.cause not in QUIET_CAUSES


@dataclass
class Fleet:
    rows: list[FleetRow] = field(default_factory=list)

    @property
    def causes(self) -> Counter[str]:
        return Counter(row.cause for row in self.rows)

    @property
    def needing_action(self) -> list[FleetRow]:
        return [row for row in self.rows if row.needs_action]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": FLEET_SCHEMA,
            "agents": len(self.rows),
            "needing_action": len(self.needing_action),
            "causes": dict(sorted(self.causes.items())),
            "rows": [asdict(row) for row in self.rows],
        }


def _finding(report: dict[str, Any], code: str) -> dict[str, Any]:
    return next((f for f in report.get("findings") or [] if isinstance(f, dict) and f.get("code") == code), {})


def _fact(finding: dict[str, Any], name: str) -> str:
    for item in finding.get("evidence") or []:
        if isinstance(item, dict) and item.get("fact") == name and item.get("value") not in (None, ""):
            return str(item["value"])
    return ""


def _part(report: dict[str, Any], key: str) -> dict[str, Any]:
    value = report.get(key)
    return value if isinstance(value, dict) else {}


def row_from_report(report: dict[str, Any], source: str) -> FleetRow:
    """One row from a v1 report (already checked to be one): who, where, what, how sure, what first, when."""
    subject, beside, verdict = _part(report, "subject"), _part(report, "beside"), _part(report, "verdict")
    node = str(subject.get("node") or subject.get("host") or "")
    agent = str(beside.get("container") or subject.get("agent") or node or source)
    daemon = _finding(report, "ED110")
    kind, endpoint = _fact(daemon, "daemon_kind"), _fact(daemon, "endpoint")
    where = f"{kind} ({endpoint})" if kind and endpoint else kind or endpoint or "not checked"
    remedies = verdict.get("remedies") or []
    return FleetRow(
        agent=agent, node=node, daemon=where, cause=str(verdict.get("cause", "unknown")),
        confidence=str(verdict.get("confidence", "unknown")), remedy=str(remedies[0]) if remedies else "",
        when=str(report.get("generated_at") or ""), source=source, summary=str(verdict.get("summary", "")),
    )


def fold(reports: list[tuple[str, dict[str, Any]]]) -> Fleet:
    """Rows in a stable order: agents needing action first, then by agent name."""
    rows = [row_from_report(report, source) for source, report in reports]
    rows.sort(key=lambda r: (not r.needs_action, r.agent, r.source))
    return Fleet(rows)
