"""remedies/apply.py on real files: which backup undo comes back to, and undo's hash check, plan by plan."""

from __future__ import annotations

from pathlib import Path

from earthly_doctor.remedies.apply import apply_plan, backup_path, created_marker, record_path, undo_files
from earthly_doctor.remedies.plan import FileEdit, Plan


def edit(path: Path, after: str) -> Plan:
    before = path.read_text() if path.exists() else None
    return Plan("test", "test", edits=[FileEdit(path, "envfile", before, after, label=path.name)])


def test_a_second_apply_on_an_untouched_file_keeps_the_first_backup(tmp_path: Path):
    env = tmp_path / ".env"
    env.write_text("A=1\n")
    assert apply_plan(edit(env, "A=1\nB=2\n")).changed
    assert apply_plan(edit(env, "A=1\nB=2\nC=3\n")).changed
    assert backup_path(env).read_text() == "A=1\n"  # undo goes back to what the user had, not to the first edit
    results, refusals = undo_files([env])
    assert not refusals and results[0].written and env.read_text() == "A=1\n"
    assert not record_path(env).exists() and not backup_path(env).exists()


def test_a_file_edited_by_hand_between_applies_becomes_the_new_backup(tmp_path: Path):
    env = tmp_path / ".env"
    env.write_text("A=1\n")
    apply_plan(edit(env, "A=1\nB=2\n"))
    env.write_text("A=1\nB=2\nMINE=1\n")
    apply_plan(edit(env, "A=1\nB=2\nMINE=1\nC=3\n"))
    assert backup_path(env).read_text() == "A=1\nB=2\nMINE=1\n"  # undo must not throw the hand edit away


def test_a_created_file_is_removed_by_undo_only_while_it_is_what_apply_wrote(tmp_path: Path):
    env = tmp_path / ".env"
    apply_plan(edit(env, "B=2\n"))
    assert created_marker(env).exists()
    env.write_text("B=2\nMINE=1\n")
    results, refusals = undo_files([env])
    assert not results and "changed since earthly-doctor wrote it" in str(refusals[0]) and env.exists()
    results, refusals = undo_files([env], force=True)
    assert not refusals and not env.exists() and not created_marker(env).exists()


def test_undo_without_a_record_needs_force(tmp_path: Path):
    """A backup from before records existed (or a record someone removed): undo cannot tell, so it asks."""
    env = tmp_path / ".env"
    env.write_text("A=1\nB=2\n")
    backup_path(env).write_text("A=1\n")
    results, refusals = undo_files([env])
    assert not results and "no record of what earthly-doctor wrote" in refusals[0].reason
    assert env.read_text() == "A=1\nB=2\n"
    assert undo_files([env], force=True)[0][0].written and env.read_text() == "A=1\n"


def test_undo_checks_every_file_before_restoring_any(tmp_path: Path):
    one, two = tmp_path / "one.env", tmp_path / "two.env"
    for path in (one, two):
        path.write_text("A=1\n")
        apply_plan(edit(path, "A=1\nB=2\n"))
    two.write_text("A=1\nB=2\nMINE=1\n")
    results, refusals = undo_files([one, two])
    assert not results and len(refusals) == 1 and one.read_text() == "A=1\nB=2\n"
