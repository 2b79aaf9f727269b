"""The contract every check implements, built-in or third party (ruff-style codes and docs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from earthly_doctor.model import CauseRule, Evidence, Finding, Published, Severity, Status

__all__ = ["Check", "CheckDoc", "Published"]

if TYPE_CHECKING:
    from earthly_doctor.context import Context


@dataclass(frozen=True)
class CheckDoc:
    """What a check looks at, why it matters, an example of a failing case, and how to fix it."""

    what: str
    why: str
    example: str
    fix: str


class Check:
    """Subclass, set the class attributes, implement `run`; register under `earthly_doctor.checks`."""

    code: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]  # container | network | docker | probe | earthly | jenkins | logs
    doc: ClassVar[CheckDoc]
    needs: ClassVar[tuple[str, ...]] = ()  # fact names read, for docs and ordering
    fixable: ClassVar[bool] = False  # whether a remedy in earthly-doctor can fix what it finds
    remedies: ClassVar[tuple[str, ...]] = ()  # remedy ids suggested when it fails
    # Causes this check can establish (a plugin's way into the verdict): declared rules the verdict engine runs.
    rules: ClassVar[tuple[CauseRule, ...]] = ()

    def run(self, ctx: Context) -> Finding | list[Finding]:
        """One finding; or several for a check that reports per item (ED160: one per signature and log)."""
        raise NotImplementedError

    # Helpers so checks read as sentences: `return self.fail("…", evidence=[…])`.
    def finding(
        self,
        status: Status,
        summary: str,
        *,
        severity: Severity | None = None,
        evidence: Iterable[Evidence] = (),
        remedies: Iterable[str] | None = None,
        published: Published | None = None,
        **extra: object,
    ) -> Finding:
        default_severity = {
            Status.FAIL: Severity.HIGH,
            Status.WARN: Severity.MEDIUM,
            Status.ERROR: Severity.MEDIUM,
        }.get(status, Severity.INFO)
        return Finding(
            code=self.code,
            title=self.title,
            status=status,
            severity=severity or default_severity,
            summary=summary,
            evidence=list(evidence),
            remedies=list(self.remedies if remedies is None and status in (Status.FAIL, Status.WARN) else remedies or []),
            category=self.category,
            extra={**(published.as_extra() if published is not None else {}), **extra},
        )

    def skip_without_daemon(self, ctx: Context) -> Finding | None:
        """The skip finding for a check that needs the daemon when it is unusable (ED110 says why), else None."""
        handle = ctx.fact("docker")
        if handle.ok:
            return None
        return self.skip(f"needs a Docker daemon (see ED110: {handle.error})", remedies=[])

    def skip_without_earthly(self, ctx: Context, then: str) -> Finding:
        """The skip for no visible earthly process: only this PID namespace can be seen, so never "none running"."""
        return self.skip(
            "no earthly or earth process visible from here (only this PID namespace can be seen: a build in another "
            "container is not, unless this one runs with --pid host; run this where the build runs, while it runs); "
            + then,
            remedies=[],
        )

    def passed(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.PASS, summary, **kw)

    def warn(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.WARN, summary, **kw)

    def fail(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.FAIL, summary, **kw)

    def skip(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.SKIP, summary, **kw)

    def error(self, summary: str, **kw: Any) -> Finding:
        return self.finding(Status.ERROR, summary, **kw)
