"""`fix`: from a diagnosis (live, a saved report, or a triaged log) to ranked remedies, plans, and applied edits."""

from __future__ import annotations

import json
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
    verify_report: Report | None = None
    verify_note: str | None = None
    hints: dict[str, str] = field(default_factory=dict)  # remedy id -> the command that applies its plan as shown
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mode: str = "dry-run"  # dry-run | apply | undo | nothing

    @property
    def refused(self) -> bool:
        """An apply that wrote nothing because a file was refused, or a dry run whose plan to apply is refused."""
        if self.applied is not None:
            return bool(self.applied.refusals)
        return self.mode == "dry-run" and bool(self.plans) and bool(self.plans[0].refusals)

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
        if self.verify_report is not None:
            data["verify"] = self.verify_report.to_dict()
        return data


def load_report(path: Path) -> Report:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--from {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--from {path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--from {path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return Report.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--from {path}: {exc}") from None


Diagnoser = Callable[[list[str]], Report]  # runs the checks (optionally only some codes) and returns the report


def fix(request: FixRequest, diagnoser: Diagnoser | None = None, check_codes: set[str] | None = None) -> FixResult:  # noqa: C901, PLR0912 -- grandfathered; split when next changed
    from earthly_doctor.remedies import engine
    from earthly_doctor.verdict import topology_from

    if request.style is not None and request.style not in STYLES:
        raise UsageError(f"--style {request.style!r}: choose from {', '.join(STYLES)}")
    if request.remedy is not None and request.remedy not in REMEDY_IDS:
        raise UsageError(f"--remedy {request.remedy!r}: choose from {', '.join(REMEDY_IDS)}")
    if request.undo:
        return _undo(request)
    if request.from_report and request.logs:
        raise UsageError("--from and --log are two sources of a diagnosis: give one")

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
    result.applied = chosen[0].apply(result.plans[0])
    if request.verify and not result.refused:
        if diagnoser is None:
            result.verify_note = "no diagnosis available to verify with"
            return result
        result.verify_report, codes = chosen[0].verify(diagnoser, check_codes)
        if result.verify_report is None:
            result.verify_note = f"no installed check shows the effect of {chosen[0].id} yet (wanted {', '.join(chosen[0].verify_codes)})"
        else:
            result.verify_note = (
                f"re-ran {', '.join(codes)}; edits to pipeline files take effect on the next build, so these checks "
                "show this process's view"
            )
    return result


def refusal_lines(result: FixResult) -> list[str]:
    """Every refusal of the plans shown and of the apply, each once (an apply repeats its plan's refusals)."""
    lines: list[str] = []
    refusals = [r for p in result.plans for r in p.refusals] + list(result.applied.refusals if result.applied else [])
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
                if target.path not in seen and (backup_path(target.path).exists() or created_marker(target.path).exists()):
                    seen.add(target.path)
                    paths.append(target.path)
    if not paths:
        result.notes.append("no earthly-doctor backups here; name the files with --file")
        return result
    result.undone = engine.undo(paths)
    return result
