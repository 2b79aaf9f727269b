"""The remedy contract: topology facts in, a Plan (edits as diffs, commands, risk notes) out, then apply/undo.

A remedy never touches the disk itself: it plans edits through pure editors, and `apply_plan`/`undo_file` here
do the writing (backup, atomic replace, idempotence). Remedies import neither checks nor reports.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from earthly_doctor.fsutil import atomic_write_bytes, remove_stale_temps
from earthly_doctor.remedy_catalog import describe
from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, NotApplicable
from earthly_doctor.remedies.rules import Topology as Topology  # noqa: PLC0414 -- re-exported for the remedies

BACKUP_SUFFIX = ".earthly-doctor.bak"
CREATED_SUFFIX = ".earthly-doctor.created"  # marker: the file did not exist before, so undo removes it


@dataclass
class FileEdit:
    path: Path
    kind: str  # jenkinsfile | envfile | shell | dockerfile | yaml
    before: str | None  # None: the file does not exist yet
    after: str
    changes: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    label: str = ""  # how the path is shown (relative to the working directory when inside it)

    @property
    def name(self) -> str:
        return self.label or str(self.path)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        if not self.changed:
            return ""
        old = (self.before or "").splitlines(keepends=True)
        new = self.after.splitlines(keepends=True)
        name = self.name
        a, b = (name, name) if name.startswith("/") else (f"a/{name}", f"b/{name}")
        lines = difflib.unified_diff(old, new, "/dev/null" if self.before is None else a, b)
        # Diffs are shown, not patched: show CRLF files with LF so the terminal stays readable.
        return "".join(line.replace("\r\n", "\n") if line.endswith("\r\n") else line for line in lines)


@dataclass
class Refusal:
    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.reason}; nothing was written"


@dataclass
class Plan:
    remedy: str
    title: str
    edits: list[FileEdit] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # to run by hand (or shown as the alternative)
    snippets: list[tuple[str, str]] = field(default_factory=list)  # (where, text) print-only configuration
    risks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # printed on stderr: the plan may not reach earthly

    @property
    def changes_anything(self) -> bool:
        return any(e.changed for e in self.edits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "remedy": self.remedy,
            "title": self.title,
            "edits": [
                {"path": e.name, "kind": e.kind, "changed": e.changed, "diff": e.diff(), "changes": e.changes,
                 "already": e.already, "notes": e.notes}
                for e in self.edits
            ],
            "commands": list(self.commands),
            "snippets": [{"where": w, "text": t} for w, t in self.snippets],
            "risks": list(self.risks),
            "notes": list(self.notes),
            "refusals": [str(r) for r in self.refusals],
            "warnings": list(self.warnings),
        }


@dataclass
class Target:
    """A file a remedy may edit, with the kind of editor it needs."""

    path: Path
    kind: str


Editor = Callable[[str], EditOutcome]


@dataclass
class ApplyResult:
    remedy: str
    written: list[WriteResult] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(w.written for w in self.written)


def apply_plan(plan: Plan) -> ApplyResult:
    """Write every changed file of the plan, or none of them when any file was refused."""
    result = ApplyResult(plan.remedy, refusals=list(plan.refusals))
    if plan.refusals:
        return result
    for edit in plan.edits:
        remove_leftovers(edit.path)
        try:
            result.written.append(write_edit(edit))
        except EditRefused as exc:
            result.refusals.append(Refusal(edit.path, exc.line, exc.reason))
        except OSError as exc:
            result.refusals.append(Refusal(edit.path, 0, f"cannot write: {exc.strerror or exc}"))
    return result


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

    def apply(self, plan: Plan) -> ApplyResult:
        """Write the plan: a backup per file, an atomic replace, nothing at all when any file was refused."""
        return apply_plan(plan)

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
    """The file's text with its line endings untouched; None when it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise EditRefused(0, "is a directory") from None
    except OSError as exc:
        raise EditRefused(0, f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in data:
        raise EditRefused(0, "looks binary")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EditRefused(line, "not UTF-8 text") from None


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def created_marker(path: Path) -> Path:
    return path.with_name(path.name + CREATED_SUFFIX)


def remove_leftovers(path: Path) -> list[Path]:
    """Temp files a killed apply or undo left next to the file, its backup or its marker (older than a minute)."""
    return [p for q in (path, backup_path(path), created_marker(path)) for p in remove_stale_temps(q)]


def _digest(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest() if data is not None else "-"


@dataclass
class WriteResult:
    path: Path
    written: bool
    backup: Path | None
    message: str


def write_edit(edit: FileEdit) -> WriteResult:
    """Back up the current file, then replace it atomically. A crash at any point leaves the old or the new file.

    The file must still be what was planned from; a concurrent change means re-planning, not overwriting."""
    path = edit.path
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    planned = edit.before.encode("utf-8") if edit.before is not None else None
    if _digest(current) != _digest(planned):
        if current is not None and current == edit.after.encode("utf-8"):
            return WriteResult(path, False, None, f"{edit.name}: already changed; nothing to do")
        raise EditRefused(0, "changed on disk since it was read")
    if not edit.changed:
        return WriteResult(path, False, None, f"{edit.name}: already applied; nothing changed")
    if current is None:
        atomic_write_bytes(created_marker(path), b"")
        backup = created_marker(path)
    else:
        backup = backup_path(path)
        atomic_write_bytes(backup, current, mode=path.stat().st_mode & 0o7777)
    atomic_write_bytes(path, edit.after.encode("utf-8"))
    if current is None:
        return WriteResult(path, True, backup, f"{edit.name}: created (undo removes it)")
    return WriteResult(path, True, backup, f"{edit.name}: written (backup: {backup.name})")


def undo_file(path: Path) -> WriteResult:
    """Restore the backup atomically (or remove a file the doctor created), then drop the backup."""
    backup, marker = backup_path(path), created_marker(path)
    remove_leftovers(path)
    if backup.exists():
        data = backup.read_bytes()
        atomic_write_bytes(path, data, mode=backup.stat().st_mode & 0o7777)
        os.unlink(backup)
        return WriteResult(path, True, backup, f"{path}: restored from {backup.name}")
    if marker.exists():
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        os.unlink(marker)
        return WriteResult(path, True, marker, f"{path}: removed (earthly-doctor had created it)")
    return WriteResult(path, False, None, f"{path}: no earthly-doctor backup; nothing to undo")
