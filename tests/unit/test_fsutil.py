"""fsutil: atomic writes keep what a user expects of a new file."""

from __future__ import annotations
import os


def test_a_new_file_gets_the_umask_mode_not_mkstemps_0600(tmp_path):
    """--output reports are read by Jenkins' junit/recordIssues steps, often as another user: 0600 hid them."""
    from earthly_doctor.fsutil import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.xml", "<x/>")
        atomic_write_text(tmp_path / "secret", "s", mode=0o600)
    finally:
        os.umask(old)
    assert (tmp_path / "new.xml").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    (tmp_path / "new.xml").chmod(0o640)
    atomic_write_text(tmp_path / "new.xml", "<y/>")
    assert (tmp_path / "new.xml").stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode
