"""The data of a plan: file edits shown as diffs, refusals, and the plan that holds them (no disk access here)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    outcome: str = "nothing was written"  # what the refused apply or undo left on disk, said exactly

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.reason}; {self.outcome}"


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
