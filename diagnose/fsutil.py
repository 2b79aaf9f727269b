"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from pathlib import Path

STALE_TEMP_SECONDS = 60.0  # a live atomic write finishes well within this; older temp files were left by a kill
_RANDOM = r"[a-z0-9_]{8}"  # what tempfile.mkstemp puts between prefix and suffix


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask can only set-and-restore)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def _write_target(path: Path | str) -> Path:
    """Where a write of `path` lands: through a symlink, since replacing the link would turn it into a copy."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def atomic_write_bytes(path: Path | str, data: bytes, *, mode: int | None = None) -> None:
    path = _write_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None and path.exists():
        mode = path.stat().st_mode & 0o7777
    elif mode is None:
        # mkstemp makes 0600; a new report or edited file should be readable as any new file is (Jenkins' junit step
        # often runs as another user than the container that wrote it).
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: Path | str, text: str, *, encoding: str = "utf-8", mode: int | None = None) -> None:
    # newline="" semantics: the caller's line endings are written exactly as given.
    atomic_write_bytes(path, text.encode(encoding), mode=mode)


def remove_stale_temps(path: Path | str, *, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the `.NAME.XXXXXXXX.tmp` files an interrupted `atomic_write_bytes(path)` left, if older than `older_than`.

    Only regular files of exactly that name pattern go, so another writer's fresh temp file is never touched."""
    path = _write_target(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.{_RANDOM}\.tmp")
    cutoff = time.time() - older_than
    removed: list[Path] = []
    try:
        with os.scandir(path.parent) as scan:
            entries = list(scan)
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed
