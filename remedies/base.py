"""The remedy contract: topology facts in, a Plan (edits as diffs, commands, risk notes) out, then apply/undo.

A remedy never touches the disk itself: it plans edits through pure editors, and `remedies.apply` does the
writing (all or nothing, backups, atomic replace, undo). Remedies import neither checks nor reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from earthly_doctor.fsutil import UnsafePath, read_regular
from earthly_doctor.remedies.apply import ApplyResult, apply_plan, backup_path, created_marker
from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, NotApplicable
from earthly_doctor.remedies.plan import FileEdit, Plan, Refusal
from earthly_doctor.remedies.rules import Topology
from earthly_doctor.remedy_catalog import describe

# The plan's data and the backup names live in remedies.plan and remedies.apply; remedies import them from here.
__all__ = [
    "ApplyResult", "Editor", "FileEdit", "Plan", "Refusal", "Remedy", "Target", "Topology", "backup_path",
    "created_marker", "read_text",
]


@dataclass
class Target:
    """A file a remedy may edit, with the kind of editor it needs."""

    path: Path
    kind: str


Editor = Callable[[str], EditOutcome]


class Remedy:
    """Base class for remedy plugins (entry-point group `earthly_doctor.remedies`)."""

    id: str = ""
    risks: tuple[str, ...] = ()
    verify_codes: tuple[str, ...] = ()  # checks that show the effect, re-run by `fix --verify`
    kinds: tuple[str, ...] = ()  # file kinds this remedy can edit

    @property
    def title(self) -> str:
        return describe(self.id).title

    @property
    def how(self) -> str:
        return describe(self.id).how

    def applies(self, topology: Topology) -> bool:
        raise NotImplementedError

    def editor(self, kind: str, options: dict[str, Any]) -> Editor | None:
        """The edit function for a file kind, or None when this remedy does not edit such files."""
        return None

    def default_targets(self, cwd: Path, env: dict[str, str]) -> list[Target]:
        return []

    def extras(self, plan: Plan, topology: Topology, options: dict[str, Any]) -> None:
        """Commands, snippets and notes that go with the edits."""

    def plan(self, topology: Topology, targets: list[Target], options: dict[str, Any] | None = None) -> Plan:
        options = options or {}
        plan = Plan(self.id, self.title, risks=list(self.risks))
        for target in targets:
            self.plan_file(plan, target, options)
        self.extras(plan, topology, options)
        return plan

    def apply(self, plan: Plan, *, force: bool = False) -> ApplyResult:
        """Write the plan: a backup per file, an atomic replace, nothing at all when any file was refused."""
        return apply_plan(plan, force=force)

    def verify(self, run_checks: Callable[[list[str]], Any], available: set[str] | None = None) -> tuple[Any, list[str]]:
        """Re-run the checks that show this remedy's effect; returns (report or None, the codes run)."""
        codes = [c for c in self.verify_codes if available is None or c in available]
        return (run_checks(codes) if codes else None), codes

    def plan_file(self, plan: Plan, target: Target, options: dict[str, Any]) -> None:
        editor = self.editor(target.kind, options)
        if editor is None:
            plan.refusals.append(Refusal(target.path, 0, f"{self.id} does not edit {target.kind} files"))
            return
        try:
            before = read_text(target.path)
        except EditRefused as exc:
            plan.refusals.append(Refusal(target.path, exc.line, exc.reason))
            return
        try:
            outcome = editor(before or "")
        except EditRefused as exc:
            # A missing file that this editor cannot create: say so, not what the editor found lacking in "".
            if before is None:
                reason = "no such file"
            else:  # advice reads as advice; a parse problem says the editor could not follow the file
                reason = exc.reason if isinstance(exc, NotApplicable) else f"cannot edit safely: {exc.reason}"
            plan.refusals.append(Refusal(target.path, 0 if before is None else exc.line, reason))
            return
        if before is None and not outcome.changes:
            return
        plan.edits.append(FileEdit(target.path, target.kind, before, outcome.text, outcome.changes, outcome.already, outcome.notes))


def read_text(path: Path) -> str | None:
    """The file's text with its line endings untouched; None when it does not exist. Regular files only, capped
    (fsutil.read_regular): a FIFO or device refuses instead of hanging or filling memory."""
    try:
        data = read_regular(path)
    except UnsafePath as exc:
        raise EditRefused(0, exc.reason) from None
    except IsADirectoryError:
        raise EditRefused(0, "is a directory") from None
    except OSError as exc:
        raise EditRefused(0, f"cannot read: {exc.strerror or exc}") from None
    if data is None:
        return None
    if b"\x00" in data:
        raise EditRefused(0, "looks binary")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EditRefused(line, "not UTF-8 text") from None
