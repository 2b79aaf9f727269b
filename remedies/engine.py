"""The remedy engine: remedies ranked for a topology (the verdict engine's `topology_from`), plans, and
all-or-nothing apply."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from earthly_doctor.fsutil import UnsafePath, read_regular, workspace_path
from earthly_doctor.model import REMEDY_IDS
from earthly_doctor.remedies.apply import ApplyResult, WriteResult, apply_plan, undo_files
from earthly_doctor.remedies.base import Plan, Refusal, Remedy, Target, Topology

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


def kind_by_name(name: str, parent: str = "") -> str | None:
    """Which editor a file needs, from its name alone (and its folder's name, for registries.conf.d drop-ins)."""
    name = name.lower()
    if name.startswith("jenkinsfile") or name.endswith((".jenkinsfile", ".groovy")):
        return "jenkinsfile"
    if name.startswith(("dockerfile", "containerfile")) or name.endswith((".dockerfile", ".containerfile")):
        return "dockerfile"
    if name == ".env" or name.endswith(".env") or name.startswith(".env."):
        return "envfile"
    if name.endswith((".yml", ".yaml")):
        return "yaml"
    if name == "registries.conf" or (name.endswith(".conf") and parent == "registries.conf.d"):
        return "registries"
    if name.endswith((".sh", ".bash")):
        return "shell"
    return None


def kind_of(path: Path, name: str | None = None) -> str | None:
    """Which editor a file needs, from its name (or `name`, as the user called it) and a shebang for scripts without
    an extension. Reads only a regular file (a FIFO would block the read)."""
    kind = kind_by_name(name or path.name, path.parent.name) or (kind_by_name(path.name, path.parent.name) if name else None)
    if kind is not None:
        return kind
    try:
        data = read_regular(path)
    except OSError:  # UnsafePath too: the read for the edit refuses it with the reason
        return None
    head = (data or b"").split(b"\n", 1)[0][:200]
    if head.startswith(b"#!") and any(s in head for s in (b"sh", b"bash", b"dash", b"zsh")):
        return "shell"
    return None


def targets_for(remedy: Remedy, files: list[Path], cwd: Path, env: Mapping[str, str]) -> tuple[list[Target], list[Refusal]]:
    """The files to edit, each resolved by the workspace rule (fsutil.workspace_path); a refused path is a Refusal."""
    targets: list[Target] = []
    refusals: list[Refusal] = []
    if not files:
        for target in remedy.default_targets(cwd, dict(env)):
            try:
                real = workspace_path(target.path, cwd)
            except UnsafePath as exc:
                refusals.append(Refusal(target.path, 0, exc.reason))
                continue
            if all(t.path != real for t in targets):
                targets.append(Target(real, target.kind))
        return targets, refusals
    for named in files:
        try:
            path = workspace_path(named, cwd)
        except UnsafePath as exc:
            refusals.append(Refusal(named, 0, exc.reason))
            continue
        kind = kind_of(path, Path(named).name)
        if kind is None:
            refusals.append(Refusal(named, 0, "unknown file type (expected a Jenkinsfile, .env, shell script, "
                                              "Dockerfile, YAML config or registries.conf)"))
        elif kind not in remedy.kinds:
            refusals.append(Refusal(named, 0, f"{remedy.id} does not edit {kind} files"))
        elif all(t.path != path for t in targets):  # one file named twice (or through a link) is edited once
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
    """The path relative to the working directory when inside it; never resolved (a refused link is named as is)."""
    named = os.path.normpath(os.path.join(os.path.abspath(cwd), path))
    for root in (os.path.normpath(os.path.abspath(cwd)), os.path.realpath(cwd)):
        if named.startswith(root.rstrip("/") + "/"):
            return os.path.relpath(named, root)
    return str(path)


def undo(paths: list[Path], cwd: Path | None = None, *, force: bool = False) -> tuple[list[WriteResult], list[Refusal]]:
    """Undo apply on these files (resolved by the workspace rule): all checked first, then restored."""
    real: list[Path] = []
    refusals: list[Refusal] = []
    for named in paths:
        try:
            real.append(workspace_path(named, cwd if cwd is not None else Path.cwd()))
        except UnsafePath as exc:
            refusals.append(Refusal(named, 0, exc.reason, "nothing was restored"))
    if refusals:
        return [], refusals
    results, refusals = undo_files(real, force=force)
    for refusal in refusals:
        refusal.path = Path(_label(refusal.path, cwd if cwd is not None else Path.cwd()))
    return results, refusals


def known(remedy_id: str) -> bool:
    return remedy_id in REMEDY_IDS
