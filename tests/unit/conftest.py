"""Fixtures for the unit tests: the odd homes QA met: HOME unset for a uid without a passwd entry, and another user's unreadable HOME."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def no_home(monkeypatch):
    """HOME unset for a uid with no passwd entry: Path.home() raises."""
    def raise_(cls=None):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", classmethod(raise_))


@pytest.fixture
def unreadable_home(tmp_path, monkeypatch):
    """Another user's HOME: stat below it is EACCES (Path.exists/is_file raise it before Python 3.12)."""
    home = tmp_path / "root"
    real_stat = Path.stat

    def guarded(self, *a, **kw):
        if str(self).startswith(str(home)):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *a, **kw)

    monkeypatch.setattr(Path, "stat", guarded)
    return home
