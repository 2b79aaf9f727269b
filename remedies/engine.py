"""The remedy engine: remedies ranked for a topology (the verdict engine's `topology_from`), plans, and
all-or-nothing apply."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from earthly_doctor.model import REMEDY_IDS
from earthly_doctor.remedies.base import ApplyResult, Plan, Refusal, Remedy, Target, Topology, WriteResult, apply_plan, undo_file

__all__ = ["ApplyResult", "apply_plan", "load_remedies", "make_plan", "rank", "undo"]

@dataclass
class Loaded:
    remedies: dict[str, Remedy] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def load_remedies() -> Loaded:
    from earthly_doctor.plugins import REMEDY_GROUP, load_group

    group = load_group(REMEDY_GROUP)
    loaded = Loaded(warnings=list(group.warnings))
    for item in group.items:
        rid = getattr(item, "id", None)
        if not rid or not hasattr(item, "plan") or not hasattr(item, "applies"):
            loaded.warnings.append(f"plugin {item!r} is not a remedy (no id, applies or plan); ignored")
            continue
        if rid in loaded.remedies:
            loaded.warnings.append(f"two remedies claim id {rid}; the second ({type(item).__module__}) is ignored")
            continue
        loaded.remedies[rid] = item
    return loaded


def rank(topology: Topology, remedies: Mapping[str, Remedy]) -> list[Remedy]:
    """The verdict's order, keeping only remedies that exist and whose `applies()` holds for this topology."""
    ranked = []
    for rid in topology.ranking:
        remedy = remedies.get(rid)
        if remedy is not None and _applies(remedy, topology):
            ranked.append(remedy)
    return ranked


def _applies(remedy: Remedy, topology: Topology) -> bool:
    try:
        return bool(remedy.applies(topology))
    except Exception:  # noqa: BLE001 -- a third-party remedy's bug must not take the engine down
        return False


def applies(remedy: Remedy, topology: Topology) -> bool:
    return _applies(remedy, topology)


def kind_of(path: Path) -> str | None:
    """Which editor a file needs, from its name (and a shebang for scripts without an extension)."""
    name = path.name.lower()
    if name.startswith("jenkinsfile") or name.endswith((".jenkinsfile", ".groovy")):
        return "jenkinsfile"
    if name.startswith(("dockerfile", "containerfile")) or name.endswith((".dockerfile", ".containerfile")):
        return "dockerfile"
    if name == ".env" or name.endswith(".env") or name.startswith(".env."):
        return "envfile"
    if name.endswith((".yml", ".yaml")):
        return "yaml"
    if name.endswith((".sh", ".bash")):
        return "shell"
    try:
        with open(path, "rb") as handle:
            head = handle.readline(200)
    except OSError:
        return None
    if head.startswith(b"#!") and any(s in head for s in (b"sh", b"bash", b"dash", b"zsh")):
        return "shell"
    return None


def targets_for(remedy: Remedy, files: list[Path], cwd: Path, env: Mapping[str, str]) -> tuple[list[Target], list[Refusal]]:
    if not files:
        return remedy.default_targets(cwd, dict(env)), []
    targets, refusals = [], []
    for path in files:
        kind = kind_of(path)
        if kind is None:
            refusals.append(Refusal(path, 0, "unknown file type (expected a Jenkinsfile, .env, shell script, Dockerfile or YAML config)"))
        elif kind not in remedy.kinds:
            refusals.append(Refusal(path, 0, f"{remedy.id} does not edit {kind} files"))
        else:
            targets.append(Target(path, kind))
    return targets, refusals


def make_plan(remedy: Remedy, topology: Topology, files: list[Path], cwd: Path, env: Mapping[str, str],
              options: dict[str, Any] | None = None) -> Plan:
    targets, refusals = targets_for(remedy, files, cwd, env)
    plan = remedy.plan(topology, targets, options or {})
    plan.refusals = refusals + plan.refusals
    for edit in plan.edits:
        edit.label = _label(edit.path, cwd)
    for refusal in plan.refusals:
        refusal.path = Path(_label(refusal.path, cwd))
    return plan


def _label(path: Path, cwd: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(cwd).resolve()))
    except ValueError:
        return str(path)


def undo(paths: list[Path]) -> list[WriteResult]:
    return [undo_file(p) for p in paths]


def known(remedy_id: str) -> bool:
    return remedy_id in REMEDY_IDS
