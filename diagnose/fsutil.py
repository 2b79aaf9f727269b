"""The one safe file layer: every file earthly-doctor reads from a workspace or writes goes through here.

earthly-doctor runs as root on checkouts any committer controls (DESIGN §9), so a path is untrusted input:
- The workspace rule: a path inside the working directory must still be inside it once symlinks (of the file or of
  any folder on the way) are resolved; a path outside it must stay in the folder it names. Anything else is refused
  with one line naming the link.
- Files the tool makes itself (backups, markers, records, temp files, reports, bundles) are never followed: one
  that exists as a symlink or as anything but a regular file is refused.
- Reads take regular files only (opened without blocking, so a FIFO cannot hang us) and at most a size cap.
- Writes are atomic (a temp file in the same folder, fsynced, then renamed), keep the owner, group and mode of the
  file they replace, refuse a read-only file unless forced, and create no folder outside the working directory.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from earthly_doctor.errors import DoctorError

STALE_TEMP_SECONDS = 60.0  # a live atomic write finishes well within this; older temp files were left by a kill
_RANDOM = r"[a-z0-9_]{8}"  # what tempfile.mkstemp puts between prefix and suffix
MAX_WORKSPACE_FILE = 16 * 1024 * 1024  # Jenkinsfiles, .env, scripts and configs are far smaller; a device is not
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory", stat.S_IFLNK: "a symlink"}


class UnsafePath(DoctorError):
    """A path the safe layer will not read or write; the message is one line that names it."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def describe_kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def sha256(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest() if data is not None else "-"


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


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def workspace_path(path: Path | str, cwd: Path | str) -> Path:
    """The real path to read or edit for `path` as the user named it, under the workspace rule (module docstring).

    The workspace is `cwd` when `path` lies in it, else the folder `path` names. A symlink that resolves outside it,
    or to nothing (a dangling link would make a write create a file wherever it points), is refused."""
    named = os.path.normpath(os.path.join(os.path.abspath(cwd), path))
    workspace = os.path.normpath(os.path.abspath(cwd))
    root = workspace if _inside(named, workspace) else os.path.dirname(named)
    real_root = os.path.realpath(root)
    real = os.path.realpath(named)
    if not _inside(real, real_root):
        raise UnsafePath(path, f"resolves to {real} through a symlink, outside {root}; refusing to follow it")
    if os.path.islink(named) and not os.path.lexists(real):
        raise UnsafePath(path, f"a symlink to {real}, which does not exist; refusing to create it")
    return Path(real)


def own_file(path: Path) -> os.stat_result | None:
    """lstat of a file the tool makes itself (backup, marker, record, report): None when absent, refused when it is a
    symlink or not a regular file (a planted link would turn our write into a write anywhere)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise UnsafePath(path, "a folder on the way is not a folder") from None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePath(path, "is a symlink; earthly-doctor never writes or reads its own files through one")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePath(path, f"is {describe_kind(info.st_mode)}, not a regular file")
    return info


def read_regular(path: Path | str, *, limit: int = MAX_WORKSPACE_FILE, follow: bool = False) -> bytes | None:
    """The bytes of a regular file, or None when it does not exist. A FIFO, device, socket or directory is refused
    without blocking (O_NONBLOCK on open), a symlink unless `follow`, and a file larger than `limit`."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(path, "is a symlink; refusing to read through it") from None
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing elsewhere
            raise UnsafePath(path, "not a regular file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(path, f"is {describe_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise UnsafePath(path, f"{info.st_size} bytes, more than the {limit} this reads")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while we read it
                raise UnsafePath(path, f"more than the {limit} bytes this reads")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_only(path: Path, info: os.stat_result) -> bool:
    """Nobody may write it by its mode (what root must still respect), or this user may not."""
    return info.st_mode & 0o222 == 0 or (os.geteuid() != 0 and not os.access(path, os.W_OK))


@dataclass(frozen=True)
class Owner:
    """Owner, group and mode a written file must have: those of the file it replaces, or of a new file."""

    uid: int
    gid: int
    mode: int

    @classmethod
    def of(cls, info: os.stat_result) -> Owner:
        return cls(info.st_uid, info.st_gid, info.st_mode & 0o7777)

    @classmethod
    def new(cls, mode: int | None = None) -> Owner:
        """A new file as any new file would be: this process's, with the umask's mode (mkstemp alone makes 0600)."""
        return cls(os.geteuid(), os.getegid(), (0o666 & ~_umask()) if mode is None else mode)


def stage(path: Path, data: bytes, owner: Owner, *, strict_owner: bool = True) -> Path:
    """Write `data` to a fresh temp file next to `path` with `owner`'s owner, group and mode; fsynced. The caller
    renames it over `path` (commit) or removes it (discard). mkstemp uses O_EXCL, which never follows a link.

    When this user may not give the file that owner: refused, or with `strict_owner=False` (a regenerated report)
    the file becomes this user's."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if (owner.uid, owner.gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(handle.fileno(), owner.uid, owner.gid)
                except PermissionError:
                    if strict_owner:
                        raise UnsafePath(path, f"owned by {owner.uid}:{owner.gid}; this user cannot keep that owner") from None
            os.fchmod(handle.fileno(), owner.mode)  # after fchown, which clears set-id bits
            os.fsync(handle.fileno())
    except BaseException:
        discard(Path(tmp))
        raise
    return Path(tmp)


def discard(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def commit(tmp: Path, path: Path) -> None:
    """Rename a staged temp file over `path` (a rename replaces a link rather than writing through it)."""
    os.replace(tmp, path)
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """fsync the folder so a rename survives a power cut; best effort (some filesystems refuse it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_own(path: Path) -> None:
    """Remove a file the tool made, if it is still a regular file (refused when it became a link or folder)."""
    if own_file(path) is not None:
        os.unlink(path)


def atomic_write_bytes(path: Path | str, data: bytes, *, mode: int | None = None, strict_owner: bool = True) -> None:
    """Replace a file the tool owns the name of (never through a symlink), keeping owner, group and mode when it
    exists. The folder must exist: see `create_file` for reports, which may create folders in the workspace."""
    path = Path(path)
    info = own_file(path)
    owner = Owner.of(info) if info is not None else Owner.new(mode)
    if mode is not None:
        owner = Owner(owner.uid, owner.gid, mode)
    tmp = stage(path, data, owner, strict_owner=strict_owner)
    try:
        commit(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def atomic_write_text(path: Path | str, text: str, *, encoding: str = "utf-8", mode: int | None = None) -> None:
    # newline="" semantics: the caller's line endings are written exactly as given.
    atomic_write_bytes(path, text.encode(encoding), mode=mode)


def create_file(path: Path | str, data: bytes, *, cwd: Path | str | None = None, mode: int | None = None) -> Path:
    """Write a report or bundle the user asked for: never through a symlink, never over a non-regular file, and
    missing folders are created only inside the working directory (and never through a symlink). Returns the path."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    named = Path(os.path.normpath(os.path.join(os.path.abspath(cwd), path)))
    workspace = os.path.normpath(os.path.abspath(cwd))
    folder = _report_folder(Path(path), named, workspace)
    # A report is regenerated, not edited: one left by another user (a root run before) is replaced, not refused.
    atomic_write_bytes(folder / named.name, data, mode=mode, strict_owner=False)
    return Path(path)


def _report_folder(shown: Path, named: Path, workspace: str) -> Path:
    parent = str(named.parent)
    if not _inside(parent, workspace):
        if not os.path.isdir(parent):
            raise UnsafePath(shown, f"folder {parent} does not exist; earthly-doctor creates folders only inside "
                             "the working directory")
        return named.parent
    real_workspace = os.path.realpath(workspace)
    current = workspace
    for part in os.path.relpath(parent, workspace).split(os.sep):
        if part in ("", "."):
            continue
        current = os.path.join(current, part)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current)
            continue
        if stat.S_ISLNK(info.st_mode):
            target = os.path.realpath(current)
            if not _inside(target, real_workspace) or not os.path.isdir(target):
                raise UnsafePath(shown, f"folder {current} is a symlink to {target}, outside the working "
                                 "directory; refusing to write through it")
        elif not stat.S_ISDIR(info.st_mode):
            raise UnsafePath(shown, f"{current} is not a folder")
    return Path(os.path.realpath(parent))


def remove_stale_temps(path: Path | str, *, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the `.NAME.XXXXXXXX.tmp` files an interrupted write of `path` left, if older than `older_than`.

    Only regular files of exactly that name pattern go, so another writer's fresh temp file is never touched."""
    path = Path(path)
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
