"""A finished scan as ED160 findings (DESIGN §6a): one finding per signature per log (per address for a
look-alike, so two unrelated services are never summed into one), the first hit's place and fields as top-level
JSON fields, every occurrence counted. A `fallback` signature (the build visibly failed) is reported only when no
other signature with status `fail` explains the log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from earthly_doctor.model import Evidence, Finding, Published, Severity, Status

if TYPE_CHECKING:
    from earthly_doctor.triage.scanner import Match, Scanner

CODE = "ED160"
TITLE = "Build log shows a known failure signature"
MAX_LINES_LISTED = 10
_NUMERIC = ("port", "image_index", "errors")


@dataclass(frozen=True)
class LogHit(Published):
    """What an ED160 finding publishes (its top-level JSON fields, DESIGN §6a) for the verdict and the renderers:
    which signature matched, what it means, and where it was seen."""

    code = CODE
    signature: str | None = None
    cause: str | None = None  # the verdict cause the signature names, if any
    kind: str | None = None  # failure | look-alike | warning | info
    log: str | None = None
    line: int | None = None
    stage: str | None = None
    port: int | str | None = None
    red_herring: bool | None = None  # Jenkins triage: also seen in green builds
    generation: str | None = None  # which Earthly generation the line's wording belongs to, when it tells
    fallback: bool | None = None  # the bare "the build failed" line, matched when no signature says why

    def where(self) -> str:
        """Where it was seen: `at build.log:24, stage Image` (the one spelling shared by the verdict and the text
        report; `at line 24` without a log name)."""
        place = f"at {self.log}:{self.line}" if self.log else f"at line {self.line}"
        return place + (f", stage {self.stage}" if self.stage else "")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"  # pragma: no cover


def finding_for(matches: list[Match], count: int, source: str) -> Finding:
    first = matches[0]
    sig = first.signature
    # Numbers as JSON numbers for readers of the report; the summary template reads them either way.
    values = {k: int(v) if k in _NUMERIC and v.isdigit() else v for k, v in first.fields.items()}
    summary = sig.render_summary(values)
    where = f"{source}:{first.line}"
    if count > 1:
        summary += f" ({count} times)"
    evidence = [Evidence("log_line", first.text, where)]
    if first.context:
        evidence.append(Evidence("context_line", first.context, f"{source}, before line {first.line}"))
    if sig.advice:
        evidence.append(Evidence("advice", sig.advice, f"signature {sig.id}"))
    extra = {
        "signature": sig.id,
        "line": first.line,
        "timestamp": first.timestamp,
        "stage": first.stage,
        "node": first.node,
        **values,
        "log": source,
        "kind": sig.kind,
        "cause": sig.cause,
        "occurrences": count,
        "lines": [m.line for m in matches[:MAX_LINES_LISTED]],
    }
    if sig.fallback:
        extra["fallback"] = True
    return Finding(
        code=CODE,
        title=sig.title,
        status=sig.status,
        severity=sig.severity,
        summary=summary,
        evidence=evidence,
        remedies=list(sig.remedies),
        category="logs",
        extra=extra,
        detail=f"{sig.meaning}\n(signature {sig.id}, {sig.source})",
    )


def findings_from_scan(scanner: Scanner, source: str, duration_ms: int = 0) -> list[Finding]:
    """Findings for one finished scan, failures first; a log with no hit gets one `pass` finding."""
    groups: dict[tuple[str, str | None], list[Match]] = {}
    for m in scanner.matches:
        addr = m.fields.get("addr") if m.signature.kind == "look-alike" else None
        groups.setdefault((m.id, addr), []).append(m)
    split = {sid for sid, _ in groups if sum(1 for s, _ in groups if s == sid) > 1}
    # A signature seen at several addresses is counted per address from the kept matches (up to `keep`).
    findings = [finding_for(ms, len(ms) if sid in split else scanner.counts[sid], source)
                for (sid, _), ms in groups.items()]
    if any(f.status == Status.FAIL and not f.extra.get("fallback") for f in findings):
        findings = [f for f in findings if not f.extra.get("fallback")]  # the cause is named; "it failed" adds nothing
    findings.sort(key=lambda f: (-f.status.rank, f.extra["line"]))
    if not findings:
        findings.append(
            Finding(
                code=CODE,
                title=TITLE,
                status=Status.PASS,
                severity=Severity.INFO,
                summary=f"no known failure signature in {source} ({scanner.lines} lines, {_size(scanner.bytes_seen)})",
                evidence=[Evidence("signatures", len(scanner.signatures), "signature knowledge base")],
                category="logs",
                extra={"log": source, "lines_scanned": scanner.lines},
            )
        )
    for f in findings:
        f.duration_ms = duration_ms
    return findings
