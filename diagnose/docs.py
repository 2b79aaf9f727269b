"""Check documentation as Markdown: `explain CODE` prints one, docs/checks.md is all of them."""

from __future__ import annotations

from typing import Any, Iterable


def render_check_doc(check: Any, heading: str = "#") -> str:
    doc = check.doc
    fix = "yes: " + ", ".join(check.remedies) if getattr(check, "fixable", False) and check.remedies else "no automatic fix"
    parts = [
        f"{heading} {check.code}: {check.title}",
        "",
        f"Category: {check.category}. Reads: {', '.join(check.needs) or 'nothing'}. Fix available: {fix}.",
        "",
        f"**What it checks.** {doc.what}",
        "",
        f"**Why it matters.** {doc.why}",
        "",
        f"**Example.** {doc.example}",
        "",
        f"**How to fix.** {doc.fix}",
        "",
    ]
    return "\n".join(parts)


def render_catalog(checks: Iterable[Any]) -> str:
    header = (
        "# Check catalog\n\n"
        "Generated from the check registry by `python -m earthly_doctor.docs`; a test fails when this file is stale.\n\n"
    )
    return header + "\n".join(render_check_doc(c, "##") for c in sorted(checks, key=lambda c: c.code))


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from earthly_doctor.fsutil import atomic_write_text
    from earthly_doctor.plugins import load_checks

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/checks.md")
    atomic_write_text(target, render_catalog(load_checks().items))
    print(f"wrote {target}")  # noqa: T201 -- a command-line entry point
