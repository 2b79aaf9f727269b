"""Writing a plan and undoing it, through the safe file layer (earthly_doctor.fsutil).

Apply is all or nothing across files: every target is checked and every new byte staged in a temp file next to
its target first; only then are the temps renamed into place, and when a rename fails the files already replaced
are put back. Each written file gets a backup (or a `.created` marker for a new file) and a record of the SHA-256
of what was written, so undo restores only a file that is still exactly what apply left (unless forced).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from earthly_doctor.fsutil import (
    Owner,
    UnsafePath,
    commit,
    discard,
    own_file,
    read_only,
    read_regular,
    remove_own,
    remove_stale_temps,
    sha256,
    stage,
)
from earthly_doctor.remedies.edit.text import EditRefused
from earthly_doctor.remedies.plan import FileEdit, Plan, Refusal

FORCE_HINT = "--force to write it anyway"
BACKUP_SUFFIX = ".earthly-doctor.bak"
CREATED_SUFFIX = ".earthly-doctor.created"  # marker: the file did not exist before, so undo removes it
RECORD_SUFFIX = ".earthly-doctor.sha256"  # what apply wrote: undo restores only a file that still matches it


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def created_marker(path: Path) -> Path:
    return path.with_name(path.name + CREATED_SUFFIX)


def record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def remove_leftovers(path: Path) -> list[Path]:
    """Temp files a killed apply or undo left next to the file, its backup, marker or record (older than a minute)."""
    sides = (path, backup_path(path), created_marker(path), record_path(path))
    return [p for q in sides for p in remove_stale_temps(q)]


@dataclass
class WriteResult:
    path: Path
    written: bool
    backup: Path | None
    message: str


@dataclass
class ApplyResult:
    remedy: str
    written: list[WriteResult] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(w.written for w in self.written)


@dataclass
class _Step:
    """One file's part of the transaction: staged temps, in the order they are renamed into place."""

    edit: FileEdit
    current: bytes | None = None  # what the target held when checked: it must still hold it when replaced
    renames: list[tuple[Path, Path | None]] = field(default_factory=list)  # (final path, temp or None: remove it)
    done: list[tuple[Path, tuple[bytes, Owner] | None]] = field(default_factory=list)  # (path, what it held before)
    result: WriteResult | None = None

    def discard(self) -> None:
        for _, tmp in self.renames:
            if tmp is not None:
                discard(tmp)


def _record(data: bytes, path: Path) -> bytes:
    """`sha256sum` format, so `sha256sum -c NAME.earthly-doctor.sha256` checks it by hand too."""
    return f"{sha256(data)}  {path.name}\n".encode()


def recorded_digest(path: Path) -> str | None:
    """The SHA-256 apply recorded for `path`, or None when there is no record (refused when it is a link)."""
    data = read_regular(record_path(path), limit=4096)
    if data is None:
        return None
    token = data.decode("ascii", "replace").split()[:1]
    return token[0] if token else ""


def _target_state(path: Path, force: bool) -> tuple[bytes | None, Owner | None]:
    """What the target holds now, refusing what must not be replaced: a link, a non-regular or read-only file."""
    info = own_file(path)
    if info is None:
        if not path.parent.is_dir():
            raise UnsafePath(path, f"folder {path.parent} does not exist; earthly-doctor creates no folders")
        return None, None
    if read_only(path, info) and not force:
        raise UnsafePath(path, f"is read-only (mode {info.st_mode & 0o7777:04o}); {FORCE_HINT}")
    return read_regular(path), Owner.of(info)


def _prepare(edit: FileEdit, force: bool) -> _Step:
    path = edit.path
    step = _Step(edit)
    current, owner = _target_state(path, force)
    step.current = current
    planned = edit.before.encode("utf-8") if edit.before is not None else None
    after = edit.after.encode("utf-8")
    if sha256(current) != sha256(planned):
        if current == after:
            step.result = WriteResult(path, False, None, f"{edit.name}: already changed; nothing to do")
            return step
        raise EditRefused(0, "changed on disk since it was read")
    if not edit.changed:
        step.result = WriteResult(path, False, None, f"{edit.name}: already applied; nothing changed")
        return step
    backup, marker = backup_path(path), created_marker(path)
    has_backup, has_marker = own_file(backup) is not None, own_file(marker) is not None
    new_owner = owner or Owner.new()
    side_owner = Owner(new_owner.uid, new_owner.gid, new_owner.mode & 0o666)
    try:
        # A second remedy on a file still exactly as the first apply left it keeps the first backup, so undo
        # returns to what the user had; anything else makes the current file the one to come back to.
        earlier = (has_backup or has_marker) and recorded_digest(path) == sha256(current)
        if current is None:
            keep = earlier and has_marker
            if not keep:
                step.renames.append((marker, stage(marker, b"", side_owner)))
                if has_backup:
                    step.renames.append((backup, None))
            kept_by = marker
        else:
            keep = earlier and has_backup
            if not keep:
                step.renames.append((backup, stage(backup, current, new_owner)))
                if has_marker:
                    step.renames.append((marker, None))
            kept_by = backup
        step.renames.append((path, stage(path, after, new_owner)))
        step.renames.append((record_path(path), stage(record_path(path), _record(after, path), side_owner)))
    except BaseException:
        step.discard()
        raise
    if current is None:
        step.result = WriteResult(path, True, kept_by, f"{edit.name}: created (undo removes it)")
    else:
        step.result = WriteResult(path, True, kept_by, f"{edit.name}: written (backup: {kept_by.name})")
    return step


def _snapshot(path: Path) -> tuple[bytes, Owner] | None:
    info = own_file(path)
    if info is None:
        return None
    data = read_regular(path)
    return (data, Owner.of(info)) if data is not None else None


def _commit(step: _Step) -> None:
    for final, tmp in step.renames:
        before = _snapshot(final)
        if final == step.edit.path and (before[0] if before else None) != step.current:
            raise EditRefused(0, "changed on disk while earthly-doctor was writing it")
        if tmp is None:
            remove_own(final)
        else:
            commit(tmp, final)
        step.done.append((final, before))


def _roll_back(step: _Step) -> list[str]:
    """Put back what this step replaced, newest first; returns the paths that could not be put back."""
    stuck = []
    for final, before in reversed(step.done):
        try:
            if before is None:
                remove_own(final)
            else:
                commit(stage(final, before[0], before[1]), final)
        except (OSError, UnsafePath):
            stuck.append(str(final))
    step.done.clear()
    return stuck


def apply_plan(plan: Plan, *, force: bool = False) -> ApplyResult:
    """Write every changed file of the plan, or none of them (see the module docstring)."""
    result = ApplyResult(plan.remedy, refusals=list(plan.refusals))
    if plan.refusals:
        return result
    steps: list[_Step] = []
    for edit in plan.edits:
        remove_leftovers(edit.path)
        try:
            steps.append(_prepare(edit, force))
        except (EditRefused, UnsafePath, OSError) as exc:
            for step in steps:
                step.discard()
            line, reason = _reason_for(edit.path, exc)
            result.refusals.append(Refusal(Path(edit.name), line, reason))
            return result
    for index, step in enumerate(steps):
        try:
            _commit(step)
        except (EditRefused, UnsafePath, OSError) as exc:
            line, reason = _reason_for(step.edit.path, exc)
            for later in steps[index:]:
                later.discard()
            stuck: list[str] = []
            rolled = [s.edit.name for s in steps[: index + 1] if any(p == s.edit.path for p, _ in s.done)]
            for done in reversed(steps[: index + 1]):
                stuck += _roll_back(done)
            result.refusals.append(Refusal(Path(step.edit.name), line, reason, _outcome(rolled, stuck)))
            return result
    result.written = [s.result for s in steps if s.result is not None]
    return result


def _reason_for(path: Path, exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, EditRefused):
        return exc.line, exc.reason
    if isinstance(exc, UnsafePath):
        # The target's own problem reads "PATH: reason"; a backup's or marker's names that file instead.
        if exc.path == path:
            return 0, exc.reason
        return 0, f"{exc.path.name if exc.path.parent == path.parent else exc.path}: {exc.reason}"
    if isinstance(exc, OSError):
        return 0, f"cannot write: {exc.strerror or exc}"
    raise exc


def _outcome(rolled: list[str], stuck: list[str]) -> str:
    if stuck:
        return (f"NOT rolled back: {', '.join(stuck)} could not be restored; the backups next to them hold the "
                "previous content")
    if rolled:
        return f"nothing was written ({', '.join(rolled)} had been written and was put back)"
    return "nothing was written"


# ---- undo -------------------------------------------------------------------------------------------------------


@dataclass
class _Undo:
    path: Path
    backup: Path | None  # restore from it; None: remove the file (the doctor created it)
    marker: Path | None
    restore: tuple[bytes, Owner] | None = None  # the backup's bytes and the restored file's owner, group, mode


def _prepare_undo(path: Path, force: bool) -> _Undo | WriteResult:
    backup, marker = backup_path(path), created_marker(path)
    backup_info, marker_info = own_file(backup), own_file(marker)
    if backup_info is None and marker_info is None:
        return WriteResult(path, False, None, f"{path}: no earthly-doctor backup; nothing to undo")
    info = own_file(path)
    current = read_regular(path) if info is not None else None
    if not force:
        recorded = recorded_digest(path)
        if recorded is None:
            raise UnsafePath(path, "no record of what earthly-doctor wrote, so undo cannot tell whether it holds later "
                             "edits; --force to restore anyway")
        if current is None and backup_info is not None:
            raise UnsafePath(path, "was removed since earthly-doctor wrote it; --force to restore the backup anyway")
        if current is not None and sha256(current) != recorded:
            raise UnsafePath(path, "changed since earthly-doctor wrote it; undo would lose those changes; "
                             "--force to restore the backup anyway")
        if info is not None and read_only(path, info):
            raise UnsafePath(path, f"is read-only (mode {info.st_mode & 0o7777:04o}); {FORCE_HINT}")
    if backup_info is not None:
        data = read_regular(backup)
        if data is None:  # removed between the check and the read
            raise UnsafePath(backup, "disappeared while undo read it")
        # The file keeps its own owner and mode (apply kept them); the backup's only when the file is gone.
        owner = Owner.of(info) if info is not None else Owner.of(backup_info)
        return _Undo(path, backup, marker if marker_info is not None else None, (data, owner))
    return _Undo(path, None, marker)


def _do_undo(step: _Undo) -> WriteResult:
    path = step.path
    used: Path | None
    if step.backup is not None and step.restore is not None:
        commit(stage(path, *step.restore), path)
        message, used = f"{path}: restored from {step.backup.name}", step.backup
    else:
        remove_own(path)
        message, used = f"{path}: removed (earthly-doctor had created it)", step.marker
    for leftover in (step.backup, step.marker, record_path(path)):
        if leftover is not None:
            remove_own(leftover)
    return WriteResult(path, True, used, message)


def undo_files(paths: list[Path], *, force: bool = False) -> tuple[list[WriteResult], list[Refusal]]:
    """Restore every file, after checking all of them: one refusal means nothing is restored."""
    prepared: list[_Undo | WriteResult] = []
    refusals: list[Refusal] = []
    for path in paths:
        remove_leftovers(path)
        try:
            prepared.append(_prepare_undo(path, force))
        except (UnsafePath, OSError) as exc:
            line, reason = _reason_for(path, exc)
            refusals.append(Refusal(path, line, reason, "nothing was restored"))
    if refusals:
        return [], refusals
    results: list[WriteResult] = []
    for step in prepared:
        if isinstance(step, WriteResult):
            results.append(step)
            continue
        try:
            results.append(_do_undo(step))
        except (UnsafePath, OSError) as exc:
            line, reason = _reason_for(step.path, exc)
            done = ", ".join(str(r.path) for r in results if r.written)
            refusals.append(Refusal(step.path, line, reason, f"restored before this: {done or 'nothing'}"))
            break
    return results, refusals
