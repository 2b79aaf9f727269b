"""`fix`: from a diagnosis (live, a saved report, or a triaged log) to ranked remedies, plans, and applied edits."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from earthly_doctor.errors import DoctorError, UsageError
from earthly_doctor.model import REMEDY_IDS, Report

STYLES = ("env", "flag")


@dataclass
class FixRequest:
    from_report: Path | None = None
    logs: list[str] = field(default_factory=list)
    signature_dirs: list[str] = field(default_factory=list)
    remedy: str | None = None
    files: list[Path] = field(default_factory=list)
    apply: bool = False
    verify: bool = False
    undo: bool = False
    force: bool = False  # write a read-only file; undo over a file changed since apply
    style: str | None = None  # env | flag; None: each editor's default
    stage: str | None = None
    earthbuild: bool = False
    cwd: Path = field(default_factory=Path.cwd)
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class FixResult:
    report: Report | None = None
    topology: Any = None
    ranked: list[str] = field(default_factory=list)
    not_offered: list[tuple[str, str]] = field(default_factory=list)  # (id, why)
    plans: list[Any] = field(default_factory=list)
    applied: Any = None  # ApplyResult
    undone: list[Any] = field(default_factory=list)
    undo_refusals: list[Any] = field(default_factory=list)  # Refusal: undo checked every file and restored none
    verify_report: Report | None = None
    verify_note: str | None = None
    hints: dict[str, str] = field(default_factory=dict)  # remedy id -> the command that applies its plan as shown
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mode: str = "dry-run"  # dry-run | apply | undo | nothing

    @property
    def refusals(self) -> list[Any]:
        return list(self.applied.refusals if self.applied else []) + list(self.undo_refusals)

    @property
    def refused(self) -> bool:
        """An apply or undo that wrote nothing because a file was refused, or a dry run whose plan is refused."""
        if self.refusals:
            return True
        return self.applied is None and self.mode == "dry-run" and bool(self.plans) and bool(self.plans[0].refusals)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": "earthly-doctor/fix/v1",
            "mode": self.mode,
            "verdict": self.report.verdict.to_dict() if self.report else None,
            "ranked": list(self.ranked),
            "not_offered": [{"remedy": r, "why": why} for r, why in self.not_offered],
            "plans": [p.to_dict() for p in self.plans],
            "apply_commands": dict(self.hints),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }
        if self.applied is not None:
            data["applied"] = {
                "remedy": self.applied.remedy,
                "changed": self.applied.changed,
                "files": [{"path": str(w.path), "written": w.written, "message": w.message} for w in self.applied.written],
                "refusals": [str(r) for r in self.applied.refusals],
            }
        if self.undone:
            data["undone"] = [{"path": str(w.path), "restored": w.written, "message": w.message} for w in self.undone]
        if self.undo_refusals:
            data["undo_refusals"] = [str(r) for r in self.undo_refusals]
        if self.verify_report is not None:
            data["verify"] = self.verify_report.to_dict()
        return data


MAX_REPORT = 64 * 1024 * 1024  # a report of 200 triaged builds is a few MB; a device or a FIFO is refused outright


def load_report(path: Path) -> Report:
    from earthly_doctor.fsutil import UnsafePath, read_regular

    try:
        raw = read_regular(path, limit=MAX_REPORT, follow=True)
        if raw is None:
            raise UsageError(f"--from {path}: no such file")
        data = json.loads(raw.decode("utf-8"))
    except UnsafePath as exc:
        raise UsageError(f"--from {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--from {path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--from {path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise UsageError(f"--from {path}: JSON nested too deeply to be a report") from None
    if not isinstance(data, dict):
        raise UsageError(f"--from {path}: not a report (a JSON {type(data).__name__}, not an object)")
    try:
        return Report.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise UsageError(f"--from {path}: {exc}") from None


Diagnoser = Callable[[list[str]], Report]  # runs the checks (optionally only some codes) and returns the report


def _check(request: FixRequest) -> None:
    """Options that are wrong whatever the diagnosis: one line, exit 2, before any work."""
    if request.style is not None and request.style not in STYLES:
        raise UsageError(f"--style {request.style!r}: choose from {', '.join(STYLES)}")
    if request.remedy is not None and request.remedy not in REMEDY_IDS:
        raise UsageError(f"--remedy {request.remedy!r}: choose from {', '.join(REMEDY_IDS)}")
    if request.undo:
        return
    if request.from_report and request.logs:
        raise UsageError("--from and --log are two sources of a diagnosis: give one")
    if request.signature_dirs and not request.logs:  # a mistyped folder must not pass silently
        from earthly_doctor.triage import load_signatures

        load_signatures(request.signature_dirs)


def fix(request: FixRequest, diagnoser: Diagnoser | None = None, check_codes: set[str] | None = None) -> FixResult:
    from earthly_doctor.remedies import engine
    from earthly_doctor.verdict import topology_from

    _check(request)
    if request.undo:
        return _undo(request)

    result = FixResult()
    loaded = engine.load_remedies()
    result.warnings += loaded.warnings
    result.report = _report(request, diagnoser)
    result.warnings += result.report.warnings
    topology = result.topology = topology_from(result.report)
    ranked = engine.rank(topology, loaded.remedies)
    result.ranked = [r.id for r in ranked]
    for rid in topology.ranking:
        if rid not in result.ranked:
            why = "not installed" if rid not in loaded.remedies else "does not apply to what the diagnosis established"
            result.not_offered.append((rid, why))

    if request.remedy:
        remedy = loaded.remedies.get(request.remedy)
        if remedy is None:
            raise DoctorError(f"remedy {request.remedy} is not installed (plugin failed to load?)")
        if not engine.applies(remedy, topology):
            raise DoctorError(
                f"{request.remedy} does not apply here (verdict {topology.cause}, daemon {topology.daemon_kind or 'unknown'}); "
                f"remedies that do: {', '.join(result.ranked) or 'none'}"
            )
        if request.remedy not in result.ranked:
            result.notes.append(f"{request.remedy} is not among the verdict's remedies; planned because you asked for it")
        chosen = [remedy]
    else:
        chosen = ranked[:1] if request.apply else ranked
    if not chosen:
        result.mode = "nothing"
        result.notes.append(
            "nothing to fix: the proxy is reachable" if topology.cause == "healthy"
            else f"no remedy applies to verdict {topology.cause}"
        )
        return result

    options = {"style": request.style, "stage": request.stage, "earthbuild": request.earthbuild}
    result.plans = [engine.make_plan(r, topology, request.files, request.cwd, request.env, options) for r in chosen]
    for plan in result.plans:
        result.warnings += plan.warnings
    if not request.apply:
        result.hints = {p.remedy: apply_command(request, p) for p in result.plans if not p.refusals}
        return result

    result.mode = "apply"
    result.applied = chosen[0].apply(result.plans[0], force=request.force)
    if request.verify and not result.refused:
        _verify(result, chosen[0], diagnoser, check_codes)
    return result


def refusal_lines(result: FixResult) -> list[str]:
    """Every refusal of the plans shown and of the apply, each once (an apply repeats its plan's refusals)."""
    lines: list[str] = []
    refusals = [r for p in result.plans for r in p.refusals] + result.refusals
    for refusal in refusals:
        if str(refusal) not in lines:
            lines.append(str(refusal))
    return lines


def apply_command(request: FixRequest, plan: Any) -> str:
    """The command that applies this plan from any folder: the same diagnosis, files, remedy and options, with
    absolute paths, and the files the plan chose by default named explicitly."""
    import os
    import shlex

    def absolute(path: Path | str) -> str:
        return os.path.abspath(os.path.join(request.cwd, path))

    args = ["earthly-doctor", "fix", "--apply"]
    if request.from_report:
        args += ["--from", absolute(request.from_report)]
    for log in request.logs:
        args += ["--log", log if log == "-" else absolute(log)]
    for folder in request.signature_dirs:
        args += ["--signatures", absolute(folder)]
    args += ["--remedy", plan.remedy]
    files = list(request.files) or [edit.path for edit in plan.edits]
    for path in files:
        args += ["--file", absolute(path)]
    if request.style:
        args += ["--style", request.style]
    if request.stage:
        args += ["--stage", request.stage]
    if request.earthbuild:
        args.append("--earthbuild")
    return shlex.join(args)


def _verify(result: FixResult, remedy: Any, diagnoser: Diagnoser | None, check_codes: set[str] | None) -> None:
    if diagnoser is None:
        result.verify_note = "no diagnosis available to verify with"
        return
    result.verify_report, codes = remedy.verify(diagnoser, check_codes)
    if result.verify_report is None:
        wanted = ", ".join(remedy.verify_codes)
        result.verify_note = f"no installed check shows the effect of {remedy.id} yet (wanted {wanted})"
    else:
        result.verify_note = (
            f"re-ran {', '.join(codes)}; edits to pipeline files take effect on the next build, so these checks "
            "show this process's view"
        )


def _report(request: FixRequest, diagnoser: Diagnoser | None) -> Report:
    if request.from_report:
        return load_report(request.from_report)
    if request.logs:
        from earthly_doctor.commands.triage import TriageRequest, triage

        return triage(TriageRequest(logs=list(request.logs), signature_dirs=list(request.signature_dirs)))
    if diagnoser is None:
        raise UsageError("no diagnosis: give --from REPORT.json or --log FILE")
    return diagnoser([])


def _undo(request: FixRequest) -> FixResult:
    from earthly_doctor.fsutil import UnsafePath, workspace_path
    from earthly_doctor.remedies import engine
    from earthly_doctor.remedies.base import backup_path, created_marker

    result = FixResult(mode="undo")
    paths = list(request.files)
    if not paths:
        loaded = engine.load_remedies()
        result.warnings += loaded.warnings
        seen: set[Path] = set()
        for remedy in loaded.remedies.values():
            for target in remedy.default_targets(request.cwd, dict(request.env)):
                try:
                    real = workspace_path(target.path, request.cwd)
                except UnsafePath:
                    real = target.path  # undo refuses it by name below, if it has backups
                if real not in seen and any(os.path.lexists(p) for p in (backup_path(real), created_marker(real))):
                    seen.add(real)
                    paths.append(target.path)
    if not paths:
        result.notes.append("no earthly-doctor backups here; name the files with --file")
        return result
    result.undone, result.undo_refusals = engine.undo(paths, request.cwd, force=request.force)
    return result
