"""The report model: findings, evidence, verdict and the versioned JSON envelope (DESIGN §6a).

Everything a renderer needs lives here; renderers know no check, and checks know no renderer.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Self, Sequence

SCHEMA_ID = "earthly-doctor/report/v1"


class Status(str, enum.Enum):
    PASS = "pass"  # noqa: S105 -- a status name, not a secret
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Order used by --fail-on: a finding 'reaches' a threshold when its rank is at least the threshold's."""
        return _STATUS_RANK[self]


_STATUS_RANK = {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1, Status.ERROR: 2, Status.FAIL: 3}


class Severity(str, enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Confidence(str, enum.Enum):
    PROVEN = "proven"
    LIKELY = "likely"
    POSSIBLE = "possible"
    UNKNOWN = "unknown"


# Verdict cause ids (DESIGN §6a); stable, other tools read them.
CAUSES = (
    "healthy",
    "docker-unreachable",
    "proxy-unreachable-bridge-container",
    "proxy-unreachable-remote-daemon",
    "proxy-unreachable-rootless-daemon",
    "daemon-proxy-captures-loopback",
    "insecure-loopback-removed",
    "podman-loopback-not-insecure",  # the docker CLI on Podman: Podman pulls 127.0.0.1 over HTTPS
    "proxy-unreachable",
    "buildkitd-unreachable",  # Earthly could not reach its BuildKit daemon (a remote one refused or never answered)
    "buildkitd-start-failed",  # earthly-buildkitd did not start, or not in time
    "buildkitd-port-clash",  # earthly-buildkitd could not publish 8371/8372: something else holds the port
    "no-known-failure",
    "unknown",
)

# Remedy ids (DESIGN §6a).
REMEDY_IDS = ("disable-proxy", "host-network", "pinned-port", "daemon-no-proxy", "earthly-image", "podman-frontend",
              "podman-insecure-loopback")


@dataclass(frozen=True)
class Evidence:
    """One fact a finding rests on, and where it came from (a file, an API field, a probe)."""

    fact: str
    value: Any
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "value": self.value, "source": self.source}


@dataclass
class Finding:
    code: str
    title: str
    status: Status
    severity: Severity = Severity.INFO
    summary: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    remedies: list[str] = field(default_factory=list)
    duration_ms: int = 0
    category: str = ""
    # Extra top-level fields of the JSON finding object (log triage puts signature, line, port… here).
    extra: dict[str, Any] = field(default_factory=dict)
    # Only rendered with -v: a traceback or a long detail that would clutter the normal report.
    detail: str | None = None

    def fact(self, name: str, default: Any = None) -> Any:
        """The value of the first piece of evidence called `name`."""
        for item in self.evidence:
            if item.fact == name:
                return item.value
        return default

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "title": self.title,
            "status": self.status.value,
            "severity": self.severity.value,
            "summary": self.summary,
            "evidence": [e.to_dict() for e in self.evidence],
            "remedies": list(self.remedies),
            "duration_ms": int(self.duration_ms),
        }
        if self.category:
            data["category"] = self.category
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        known = {"code", "title", "status", "severity", "summary", "evidence", "remedies", "duration_ms", "category"}
        return cls(
            code=data["code"],
            title=data.get("title", ""),
            status=Status(data["status"]),
            severity=Severity(data.get("severity", "info")),
            summary=data.get("summary", ""),
            evidence=[Evidence(e["fact"], e.get("value"), e.get("source", "")) for e in data.get("evidence", [])],
            remedies=list(data.get("remedies", [])),
            duration_ms=int(data.get("duration_ms", 0)),
            category=data.get("category", ""),
            extra={k: v for k, v in data.items() if k not in known},
        )


@dataclass(frozen=True)
class Published:
    """What a check publishes for the verdict, the remedy engine, preflight and reports: a frozen dataclass in the
    check's own module, so every reader imports the field names instead of typing them again.

    The fields travel as the finding's extra fields (top-level JSON fields, DESIGN §6a), so a report read back from
    JSON (`fix --from`) carries them too; a field missing there is looked up among the evidence facts of the same
    name (reports written before the field was published).
    """

    code: ClassVar[str]  # the check that publishes it

    def as_extra(self) -> dict[str, Any]:
        # Every field, None included: the contract's fields are always there for a reader of the JSON.
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def of(cls, finding: Finding | None) -> Self | None:
        """What `finding` published; None when there is no finding or it is another check's."""
        if finding is None or finding.code != cls.code:
            return None
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = finding.extra.get(f.name)
            values[f.name] = finding.fact(f.name) if value is None else value
        return cls(**values)

    @classmethod
    def among(cls, findings: Iterable[Finding]) -> Self | None:
        """What the first finding of `cls.code` that did not error published (None: the check did not run)."""
        return next((cls.of(f) for f in findings if f.code == cls.code and f.status != Status.ERROR), None)


@dataclass
class Verdict:
    cause: str
    summary: str
    confidence: Confidence
    remedies: list[str] = field(default_factory=list)
    # The evidence chain, in reading order: short sentences each backed by a finding.
    chain: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "summary": self.summary,
            "confidence": self.confidence.value,
            "remedies": list(self.remedies),
            "chain": list(self.chain),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            cause=data["cause"],
            summary=data.get("summary", ""),
            confidence=Confidence(data.get("confidence", "unknown")),
            remedies=list(data.get("remedies", [])),
            chain=list(data.get("chain", [])),
        )


@dataclass(frozen=True)
class CauseRule:
    """A cause a check can establish (a plugin's way into the verdict): when `decide(findings)` returns a Verdict,
    that is the cause, unless a rule of a lower `order` held first. The engine's own rules use orders 100-900:
    proof 100-500, `healthy` 600, heuristics 700, build logs 800; pick below 600 to be heard over `healthy`."""

    name: str
    order: int
    decide: Callable[[Sequence[Finding]], Verdict | None]


@dataclass
class Report:
    findings: list[Finding]
    verdict: Verdict
    tool_version: str
    command: str = "diagnose"
    duration_ms: int = 0
    warnings: list[str] = field(default_factory=list)  # e.g. a plugin that failed to load
    # Extra top-level fields of the JSON envelope (Jenkins triage puts its per-signature `summary` here).
    extra: dict[str, Any] = field(default_factory=dict)

    def remedies_for(self, finding: Finding) -> list[str]:
        """The remedies to show with a finding: its own, minus those that need a topology the verdict did not find
        (host-network, pinned-port); a failing finding without any borrows the verdict's ranked list."""
        from earthly_doctor.remedy_catalog import describe

        if finding.remedies:
            return [r for r in finding.remedies if not describe(r).topology_bound or r in self.verdict.remedies]
        if finding.status == Status.FAIL:
            return list(self.verdict.remedies)
        return []

    def worst(self) -> Status:
        statuses = [f.status for f in self.findings] or [Status.PASS]
        return max(statuses, key=lambda s: s.rank)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": SCHEMA_ID,
            "tool": {"name": "earthly-doctor", "version": self.tool_version},
            "command": self.command,
            "duration_ms": int(self.duration_ms),
            "findings": [f.to_dict() for f in self.findings],
            "verdict": self.verdict.to_dict(),
            "warnings": list(self.warnings),
        }
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        if data.get("schema") != SCHEMA_ID:
            raise ValueError(f"not an earthly-doctor v1 report (schema is {data.get('schema')!r})")
        return cls(
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            verdict=Verdict.from_dict(data["verdict"]),
            tool_version=data.get("tool", {}).get("version", "?"),
            command=data.get("command", "diagnose"),
            duration_ms=int(data.get("duration_ms", 0)),
            warnings=list(data.get("warnings", [])),
            extra={k: v for k, v in data.items() if k not in _REPORT_KEYS},
        )


_REPORT_KEYS = {"schema", "tool", "command", "duration_ms", "findings", "verdict", "warnings"}
