"""Temp files a SIGKILLed apply left (`.NAME.XXXXXXXX.tmp`) go on the next apply or undo, once older than a minute."""

from __future__ import annotations

import os
import time
from pathlib import Path

from earthly_doctor.fsutil import remove_stale_temps
from earthly_doctor.model import Confidence, Report, Verdict
from earthly_doctor.remedies import engine
from earthly_doctor.verdict import topology_from

OLD = time.time() - 3600


def _plant(directory: Path, name: str, age: float | None = OLD) -> Path:
    path = directory / name
    path.write_bytes(b"half a file")
    if age is not None:
        os.utime(path, (age, age))
    return path


def _scene(directory: Path) -> tuple[list[Path], list[Path]]:
    """Stale temps of `.env` and its backup, and files that look alike or are too fresh to be stale."""
    stale = [_plant(directory, ".workspace.env.k3x_9q2a.tmp"), _plant(directory, ".workspace.env.earthly-doctor.bak.abcdefgh.tmp")]
    keep = [
        _plant(directory, ".workspace.env.zz01yy02.tmp", age=None),  # a write in progress right now
        _plant(directory, ".workspace.env.short.tmp"),  # not mkstemp's 8 characters
        _plant(directory, ".other.env.abcdefgh.tmp"),  # another file's temp
        _plant(directory, "workspace.env.abcdefgh.tmp"),  # not hidden
        _plant(directory, ".workspace.env.abcdefgh.tmp.keep"),
    ]
    link = directory / ".workspace.env.linklink.tmp"
    link.symlink_to(keep[0])
    os.utime(link, (OLD, OLD), follow_symlinks=False)
    (directory / ".workspace.env.dirdirdi.tmp").mkdir()
    keep += [link, directory / ".workspace.env.dirdirdi.tmp"]
    return stale, keep


def test_remove_stale_temps_takes_only_old_regular_files_of_the_exact_pattern(tmp_path: Path):
    stale, keep = _scene(tmp_path)
    target = tmp_path / "workspace.env"
    assert remove_stale_temps(target) == [stale[0]]
    assert remove_stale_temps(tmp_path / "workspace.env.earthly-doctor.bak") == [stale[1]]
    assert all(os.path.lexists(p) for p in keep)
    assert remove_stale_temps(tmp_path / "missing-dir" / "x") == []


def _apply(path: Path):
    report = Report([], Verdict("proxy-unreachable", "", Confidence.LIKELY, ["disable-proxy"]), "0")
    remedy = engine.load_remedies().remedies["disable-proxy"]
    plan = engine.make_plan(remedy, topology_from(report), [path], path.parent, {})
    return engine.apply_plan(plan)


def test_next_apply_and_undo_remove_what_a_killed_apply_left(tmp_path: Path):
    path = tmp_path / "workspace.env"
    path.write_bytes(b"A=1\n")
    stale, keep = _scene(tmp_path)
    assert _apply(path).changed
    assert not any(p.exists() for p in stale)
    assert all(os.path.lexists(p) for p in keep)

    stale = [_plant(tmp_path, ".workspace.env.again000.tmp")]
    assert not _apply(path).changed  # already applied: nothing written, the debris still goes
    assert not stale[0].exists()

    stale = [_plant(tmp_path, ".workspace.env.undo0000.tmp"), _plant(tmp_path, ".workspace.env.earthly-doctor.bak.undo0000.tmp")]
    assert engine.undo([path])[0][0].written
    assert path.read_bytes() == b"A=1\n"
    assert not any(p.exists() for p in stale)
    assert all(os.path.lexists(p) for p in keep)


def test_dry_run_removes_nothing(tmp_path: Path):
    path = tmp_path / "workspace.env"
    path.write_bytes(b"A=1\n")
    stale = _plant(tmp_path, ".workspace.env.k3x_9q2a.tmp")
    report = Report([], Verdict("proxy-unreachable", "", Confidence.LIKELY, ["disable-proxy"]), "0")
    engine.make_plan(engine.load_remedies().remedies["disable-proxy"], topology_from(report), [path], tmp_path, {})
    assert stale.exists()


def test_apply_and_undo_write_through_a_symlinked_file(tmp_path: Path):
    """`Jenkinsfile -> ci/Jenkinsfile`: the real file is edited and restored; the link stays a link."""
    (tmp_path / "ci").mkdir()
    real = tmp_path / "ci" / "workspace.env"
    real.write_bytes(b"A=1\n")
    link = tmp_path / "workspace.env"
    link.symlink_to("ci/workspace.env")
    stale = _plant(tmp_path / "ci", ".workspace.env.k3x_9q2a.tmp")
    assert _apply(link).changed
    assert link.is_symlink() and b"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true" in real.read_bytes()
    assert not stale.exists()
    engine.undo([link])
    assert link.is_symlink() and real.read_bytes() == b"A=1\n"
