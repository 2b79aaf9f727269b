"""`earthly-doctor checks` and `earthly-doctor explain CODE`: the catalog and each check's doc."""

from __future__ import annotations

import typer

from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment


def register(app: typer.Typer) -> None:
    @app.command("checks")
    def checks_cmd() -> None:
        """List the available checks: code, category, title, and whether a fix exists."""
        from earthly_doctor.plugins import load_checks

        terminal = Terminal(Environment())
        loaded = load_checks()
        for warning in loaded.warnings:
            terminal.warn(warning)
        lines = [f"{'CODE':<7} {'CATEGORY':<10} {'FIX':<4} TITLE"]
        for check in loaded.items:
            fix = "yes" if getattr(check, "fixable", False) else "-"
            lines.append(f"{check.code:<7} {check.category:<10} {fix:<4} {check.title}")
        terminal.out("\n".join(lines) + "\n")

    @app.command("explain")
    def explain_cmd(code: str = typer.Argument(..., help="A check code, e.g. ED120.")) -> None:
        """Print a check's documentation: what it checks, why it matters, an example, how to fix it."""
        from earthly_doctor.docs import render_check_doc
        from earthly_doctor.plugins import load_checks

        terminal = Terminal(Environment())
        loaded = load_checks()
        match = [c for c in loaded.items if c.code.lower() == code.lower()]
        if not match:
            codes = ", ".join(c.code for c in loaded.items)
            terminal.abort(f"no check {code!r}; known codes: {codes}")
        terminal.out(render_check_doc(match[0]))
