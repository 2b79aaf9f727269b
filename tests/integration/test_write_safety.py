"""Attacks on what `fix --apply`, `fix --undo` and `--output` write, each on real files, symlinks and FIFOs.

Every test plants what a committer could commit (or what a user could pass), runs the real command as a process,
and checks that the file the attack aims at is untouched (bytes, owner, mode) and that the tool said so in one line
with exit 2. The unprivileged cases run the real remedy engine under `setpriv --reuid=65534` (the CLI's typer lives
where that user cannot import it on this machine; the write path is the same code).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from earthly_doctor.model import Confidence, Finding, Report, Status, Verdict

ROOT = Path(__file__).resolve().parents[2]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, setpriv); CI runs as root")
JENKINSFILE = "pipeline {\n  agent any\n  stages {\n    stage('b') { steps { sh 'earthly +build' } }\n  }\n}\n"
SCRIPT = "#!/bin/sh\nearthly +build\n"


def run(cwd: Path, *args: str, stdin: int | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "HOME": str(cwd / "home")}
    return subprocess.run([sys.executable, "-m", "earthly_doctor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=stdin)


def fix(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run(cwd, "fix", "--from", "report.json", *args, timeout=timeout)


def state(path: Path) -> tuple[bytes, int, int, int]:
    info = os.stat(path)
    return path.read_bytes(), info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def one_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2 and exactly one line on stderr, holding every needle; never an internal error."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert "internal error" not in lines[0] and "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def leftovers(ws: Path) -> list[str]:
    return sorted(p.name for p in ws.iterdir() if ".earthly-doctor." in p.name or p.name.endswith(".tmp"))


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace with a Jenkinsfile and a saved report, and a victim file outside it (a stand-in for /etc/shadow)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "Jenkinsfile").write_text(JENKINSFILE)
    findings = [Finding("ED120", "canary", Status.FAIL, summary="connection refused")]
    report = Report(findings, Verdict("proxy-unreachable-bridge-container", "unreachable", Confidence.PROVEN,
                                      ["disable-proxy"]), "0")
    (ws / "report.json").write_text(json.dumps(report.to_dict()))
    victim = tmp_path / "shadow"
    victim.write_bytes(b"root:$6$secret:19000:0:99999:7:::\n")
    victim.chmod(0o600)
    return ws, victim


# ---- planted links where the tool writes its own files ------------------------------------------------------------


def test_a_planted_backup_symlink_is_refused_and_its_target_untouched(scene):
    ws, victim = scene
    before, jf = state(victim), state(ws / "Jenkinsfile")
    (ws / "Jenkinsfile.earthly-doctor.bak").symlink_to(victim)
    proc = fix(ws, "--apply")
    one_line(proc, "Jenkinsfile.earthly-doctor.bak", "is a symlink", "nothing was written")
    assert state(victim) == before and state(ws / "Jenkinsfile") == jf
    assert leftovers(ws) == ["Jenkinsfile.earthly-doctor.bak"]


def test_a_planted_created_marker_symlink_does_not_truncate_its_target(scene):
    ws, victim = scene
    (ws / "Jenkinsfile").unlink()  # disable-proxy then creates .env, with a `.created` marker
    before = state(victim)
    (ws / ".env.earthly-doctor.created").symlink_to(victim)
    proc = fix(ws, "--apply")
    one_line(proc, ".env.earthly-doctor.created", "is a symlink")
    assert state(victim) == before and not (ws / ".env").exists()


def test_a_planted_record_symlink_is_refused(scene):
    ws, victim = scene
    before = state(victim)
    (ws / "Jenkinsfile.earthly-doctor.sha256").symlink_to(victim)
    one_line(fix(ws, "--apply"), "Jenkinsfile.earthly-doctor.sha256", "is a symlink")
    assert state(victim) == before


def test_undo_never_copies_a_symlinked_backup_into_the_jenkinsfile(scene):
    ws, victim = scene
    assert fix(ws, "--apply").returncode == 0
    applied = state(ws / "Jenkinsfile")
    backup = ws / "Jenkinsfile.earthly-doctor.bak"
    backup.unlink()
    backup.symlink_to(victim)
    proc = run(ws, "fix", "--undo")
    one_line(proc, "Jenkinsfile.earthly-doctor.bak", "is a symlink", "nothing was restored")
    assert state(ws / "Jenkinsfile") == applied and b"secret" not in (ws / "Jenkinsfile").read_bytes()
    one_line(run(ws, "fix", "--undo", "--force"), "is a symlink")  # --force never means "follow the link"


def test_a_dangling_env_symlink_creates_nothing_anywhere(scene, tmp_path: Path):
    ws, _ = scene
    (ws / "Jenkinsfile").unlink()
    far = tmp_path / "elsewhere" / "deep" / ".env"
    (ws / ".env").symlink_to(far)
    proc = fix(ws, "--apply")
    one_line(proc, ".env", "outside", "refusing to follow it")
    assert not (tmp_path / "elsewhere").exists()
    (ws / ".env").unlink()
    (ws / ".env").symlink_to("missing/.env")  # dangling inside the workspace: still no folder, no file
    one_line(fix(ws, "--apply"), ".env", "does not exist")
    assert not (ws / "missing").exists() and leftovers(ws) == []


def test_a_jenkinsfile_symlink_out_of_the_workspace_is_refused_by_name(scene):
    ws, victim = scene
    (ws / "Jenkinsfile").unlink()
    (ws / "Jenkinsfile").symlink_to(victim)
    before = state(victim)
    line = one_line(fix(ws, "--apply", "--file", "Jenkinsfile"), "Jenkinsfile: resolves to", "outside")
    assert str(victim) in line and state(victim) == before
    one_line(run(ws, "fix", "--undo", "--file", "Jenkinsfile"), "outside")


def test_a_jenkinsfile_symlink_inside_the_workspace_is_followed_and_stays_a_link(scene):
    ws, _ = scene
    (ws / "ci").mkdir()
    (ws / "Jenkinsfile").rename(ws / "ci" / "Jenkinsfile")
    (ws / "Jenkinsfile").symlink_to("ci/Jenkinsfile")
    assert fix(ws, "--apply").returncode == 0
    assert (ws / "Jenkinsfile").is_symlink() and "EARTHLY_DISABLE" in (ws / "ci" / "Jenkinsfile").read_text()
    assert (ws / "ci" / "Jenkinsfile.earthly-doctor.bak").read_text() == JENKINSFILE
    assert run(ws, "fix", "--undo").returncode == 0
    assert (ws / "ci" / "Jenkinsfile").read_text() == JENKINSFILE and (ws / "Jenkinsfile").is_symlink()


# ---- --output ---------------------------------------------------------------------------------------------------


def test_output_never_writes_through_a_committed_symlink_nor_makes_folders_outside(scene, tmp_path: Path):
    ws, victim = scene
    (ws / "build.log").write_text("nothing here\n")
    before = state(victim)
    (ws / "report.xml").symlink_to(victim)
    one_line(run(ws, "triage", "build.log", "--output", "junit:report.xml"), "report.xml", "is a symlink")
    (ws / "out").symlink_to(tmp_path)  # a folder link leading out of the workspace
    one_line(run(ws, "triage", "build.log", "--output", "json:out/r.json"), "out", "outside the working directory")
    assert not (tmp_path / "r.json").exists()
    one_line(run(ws, "triage", "build.log", "--output", f"json:{tmp_path}/new/dirs/r.json"), "does not exist")
    assert not (tmp_path / "new").exists() and state(victim) == before
    proc = run(ws, "triage", "build.log", "--output", "json:reports/sub/r.json")  # inside: folders are made
    assert proc.returncode == 0, proc.stderr
    assert json.loads((ws / "reports" / "sub" / "r.json").read_text())["schema"] == "earthly-doctor/report/v1"


def test_bundle_never_writes_its_archive_through_a_symlink(scene):
    ws, victim = scene
    before = state(victim)
    (ws / "b.tgz").symlink_to(victim)
    one_line(run(ws, "bundle", "--output", "b.tgz", "--timeout", "2", "--docker-host", "unix:///nonexistent.sock"),
             "b.tgz", "is a symlink")
    assert state(victim) == before


# ---- owner, mode, read-only -------------------------------------------------------------------------------------


@ROOT_ONLY
def test_as_root_an_edited_file_keeps_owner_group_and_mode_through_apply_and_undo(scene):
    ws, _ = scene
    jf = ws / "Jenkinsfile"
    os.chown(jf, 1234, 1234)
    jf.chmod(0o640)
    assert fix(ws, "--apply").returncode == 0
    assert state(jf)[1:] == (1234, 1234, 0o640)
    assert state(ws / "Jenkinsfile.earthly-doctor.bak")[1:] == (1234, 1234, 0o640)  # the copy is no easier to read
    assert run(ws, "fix", "--undo").returncode == 0
    assert state(jf) == (JENKINSFILE.encode(), 1234, 1234, 0o640)


def test_a_read_only_file_is_refused_unless_forced(scene):
    ws, _ = scene
    jf = ws / "Jenkinsfile"
    jf.chmod(0o444)
    before = state(jf)
    one_line(fix(ws, "--apply"), "Jenkinsfile", "read-only (mode 0444)", "--force")
    assert state(jf) == before and leftovers(ws) == []
    assert fix(ws, "--apply", "--force").returncode == 0
    assert "EARTHLY_DISABLE" in jf.read_text() and state(jf)[3] == 0o444


# ---- all or nothing ---------------------------------------------------------------------------------------------


def test_two_files_one_read_only_writes_neither(scene):
    ws, _ = scene
    (ws / "build.sh").write_text(SCRIPT)
    (ws / "build.sh").chmod(0o555)
    before = state(ws / "Jenkinsfile"), state(ws / "build.sh")
    proc = fix(ws, "--apply", "--file", "Jenkinsfile", "--file", "build.sh")
    one_line(proc, "build.sh", "read-only", "nothing was written")
    assert "nothing was written" in proc.stdout and "Jenkinsfile: written" not in proc.stdout
    assert (state(ws / "Jenkinsfile"), state(ws / "build.sh")) == before and leftovers(ws) == []


@ROOT_ONLY
def test_a_write_that_fails_late_rolls_back_the_files_already_written(scene):
    """`chattr +i` makes the second rename fail after the first file was replaced: the first is put back."""
    ws, _ = scene
    script = ws / "build.sh"
    script.write_text(SCRIPT)
    before = state(ws / "Jenkinsfile"), state(script)
    if subprocess.run(["chattr", "+i", str(script)], capture_output=True, check=False).returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("chattr +i failed: CI must run the rollback test (e2fsprogs, a filesystem with attributes)")
        pytest.skip("chattr +i is not supported on this filesystem")
    try:
        proc = fix(ws, "--apply", "--file", "Jenkinsfile", "--file", "build.sh")
    finally:
        subprocess.run(["chattr", "-i", str(script)], check=True)
    one_line(proc, "build.sh", "cannot write", "nothing was written (Jenkinsfile had been written and was put back)")
    assert (state(ws / "Jenkinsfile"), state(script)) == before and leftovers(ws) == []


# ---- undo that cannot lose work ---------------------------------------------------------------------------------


def test_undo_refuses_a_file_edited_after_apply_unless_forced(scene):
    ws, _ = scene
    jf = ws / "Jenkinsfile"
    assert fix(ws, "--apply").returncode == 0
    with jf.open("a") as handle:
        handle.write("// my later edit\n")
    edited = state(jf)
    one_line(run(ws, "fix", "--undo"), "Jenkinsfile", "changed since earthly-doctor wrote it", "--force")
    assert state(jf) == edited and (ws / "Jenkinsfile.earthly-doctor.bak").exists()
    assert run(ws, "fix", "--undo", "--force").returncode == 0
    assert jf.read_text() == JENKINSFILE and leftovers(ws) == []


def test_apply_records_the_hash_of_what_it_wrote(scene):
    ws, _ = scene
    assert fix(ws, "--apply").returncode == 0
    check = subprocess.run(["sha256sum", "-c", "Jenkinsfile.earthly-doctor.sha256"], cwd=ws, capture_output=True)
    assert check.returncode == 0, check.stdout


# ---- FIFOs and devices: never a hang ----------------------------------------------------------------------------


def _unblock(fifo: Path) -> threading.Timer:
    """If the tool opened the FIFO blocking, this writer would let it go on; the test then fails on the result."""
    def poke() -> None:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
    timer = threading.Timer(20, poke)
    timer.start()
    return timer


@pytest.mark.parametrize("where", [".env", "--file", "--from"])
def test_a_fifo_never_hangs_and_is_refused_in_one_line(scene, where: str):
    ws, _ = scene
    if where == ".env":
        (ws / "Jenkinsfile").unlink()
        os.mkfifo(ws / ".env")
        args = ["fix", "--from", "report.json", "--apply"]
    elif where == "--file":
        os.mkfifo(ws / "ci.env")
        args = ["fix", "--from", "report.json", "--apply", "--file", "ci.env"]
    else:
        os.mkfifo(ws / "pipe.json")
        args = ["fix", "--from", "pipe.json"]
    fifo = next(p for p in ws.iterdir() if stat.S_ISFIFO(os.lstat(p).st_mode))
    timer = _unblock(fifo)
    try:
        proc = run(ws, *args, timeout=30)
    finally:
        timer.cancel()
    one_line(proc, "a FIFO")


@pytest.mark.parametrize("where", [".env", "--file", "--from"])
def test_dev_zero_is_refused_without_reading_it(scene, where: str):
    ws, _ = scene
    if where == ".env":
        (ws / "Jenkinsfile").unlink()
        (ws / ".env").symlink_to("/dev/zero")
        proc = fix(ws, "--apply", timeout=30)
        one_line(proc, ".env", "outside")
        return
    args = ["--file", "/dev/zero", "--apply"] if where == "--file" else []
    proc = run(ws, "fix", "--from", "/dev/zero" if where == "--from" else "report.json", *args, timeout=30)
    one_line(proc, "/dev/zero")


def test_a_huge_workspace_file_is_refused_by_its_size(scene):
    ws, _ = scene
    with (ws / "Jenkinsfile").open("ab") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: no disk used
    one_line(fix(ws, "--apply"), "Jenkinsfile", "bytes, more than")


# ---- as an unprivileged user ------------------------------------------------------------------------------------

NOBODY_APPLY = r"""
import sys
from pathlib import Path
from earthly_doctor.model import Confidence, Report, Verdict
from earthly_doctor.remedies import engine
from earthly_doctor.verdict import topology_from
ws, force = Path(sys.argv[1]), sys.argv[2] == "force"
report = Report([], Verdict("proxy-unreachable", "", Confidence.LIKELY, ["disable-proxy"]), "0")
remedy = engine.load_remedies().remedies["disable-proxy"]
plan = engine.make_plan(remedy, topology_from(report), [Path("Jenkinsfile")], ws, {})
result = engine.apply_plan(plan, force=force)
for refusal in result.refusals:
    print(refusal, file=sys.stderr)
sys.exit(2 if result.refusals else 0)
"""


@pytest.fixture
def open_ws() -> Iterator[Path]:
    """A workspace that user 65534 can reach (pytest's tmp folders are root-only)."""
    base = Path(tempfile.mkdtemp(prefix="ed-write-safety-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def nobody_import_tree() -> str:
    """A copy of the package as installed (earthly_doctor with checks and remedies inside, and its entry points) in a
    folder nobody can read: the interpreter's own site-packages may sit below a 0700 /root, as on the CI machine."""
    from importlib.metadata import distribution

    tree = Path(tempfile.mkdtemp(prefix="ed-nobody-import-", dir="/tmp"))
    tree.chmod(0o755)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "diagnose", tree / "earthly_doctor", ignore=ignore)
    shutil.copytree(ROOT / "checks", tree / "earthly_doctor" / "checks", ignore=ignore)
    shutil.copytree(ROOT / "remedies", tree / "earthly_doctor" / "remedies", ignore=ignore)
    info = tree / "earthly_doctor-0.0.dist-info"
    info.mkdir()
    dist = distribution("earthly-doctor")
    for name in ("METADATA", "entry_points.txt"):
        (info / name).write_text(dist.read_text(name) or "")
    for folder in [tree, *(p for p in tree.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    return str(tree)


def python_as_nobody(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    tree = nobody_import_tree()
    try:
        return subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code, *args],
            cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
            env={"PATH": os.environ["PATH"], "PYTHONPATH": tree},
        )
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def as_nobody(ws: Path, force: bool = False) -> subprocess.CompletedProcess[str]:
    return python_as_nobody(NOBODY_APPLY, str(ws), "force" if force else "no", cwd=ws)


@ROOT_ONLY
def test_unprivileged_user_cannot_replace_a_file_it_may_not_write(open_ws: Path):
    """A world-writable folder (sticky unset) with root's 0644 Jenkinsfile: rename would let nobody replace it."""
    open_ws.chmod(0o777)
    jf = open_ws / "Jenkinsfile"
    jf.write_text(JENKINSFILE)
    jf.chmod(0o644)
    before = state(jf)
    proc = as_nobody(open_ws)
    one_line(proc, "Jenkinsfile", "read-only", "nothing was written")
    assert state(jf) == before and leftovers(open_ws) == []
    proc = as_nobody(open_ws, force=True)  # forced: still never a file that changes owner behind root's back
    one_line(proc, "Jenkinsfile", "owned by 0:0", "nothing was written")
    assert state(jf) == before and leftovers(open_ws) == []


@ROOT_ONLY
def test_unprivileged_user_gets_one_line_for_a_folder_it_cannot_write(open_ws: Path):
    jf = open_ws / "Jenkinsfile"
    jf.write_text(JENKINSFILE)
    jf.chmod(0o666)  # writable file, but the folder (0755 root) takes no temp file: the atomic write cannot happen
    before = state(jf)
    one_line(as_nobody(open_ws), "Jenkinsfile", "Permission denied", "nothing was written")
    assert state(jf) == before


@ROOT_ONLY
def test_unprivileged_user_edits_its_own_workspace(open_ws: Path):
    os.chown(open_ws, 65534, 65534)
    jf = open_ws / "Jenkinsfile"
    jf.write_text(JENKINSFILE)
    os.chown(jf, 65534, 65534)
    jf.chmod(0o640)
    proc = as_nobody(open_ws)
    assert proc.returncode == 0, proc.stderr
    assert "EARTHLY_DISABLE" in jf.read_text() and state(jf)[1:] == (65534, 65534, 0o640)


def test_one_file_named_twice_or_through_a_link_is_edited_once(scene):
    ws, _ = scene
    (ws / "pipeline").symlink_to("Jenkinsfile")
    proc = fix(ws, "--apply", "--file", "Jenkinsfile", "--file", "pipeline", "--file", "./Jenkinsfile")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Jenkinsfile: written") == 1
    assert (ws / "Jenkinsfile.earthly-doctor.bak").read_text() == JENKINSFILE


def test_a_folder_symlink_out_of_the_workspace_is_refused_for_edits(scene, tmp_path: Path):
    ws, _ = scene
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "build.sh").write_text(SCRIPT)
    before = state(outside / "build.sh")
    (ws / "ci").symlink_to(outside)
    one_line(fix(ws, "--apply", "--file", "ci/build.sh"), "ci/build.sh", "outside", "refusing to follow it")
    assert state(outside / "build.sh") == before and sorted(p.name for p in outside.iterdir()) == ["build.sh"]


@ROOT_ONLY
def test_unprivileged_user_replaces_a_stale_report_of_another_user(open_ws: Path):
    """A report is regenerated: a root run's old report.json must not fail the next step (edits are refused: above)."""
    open_ws.chmod(0o777)
    (open_ws / "report.json").write_text("{}")
    code = ("import sys; from earthly_doctor.fsutil import create_file; "
            "create_file('report.json', b'{\"new\": 1}', cwd=sys.argv[1])")
    proc = python_as_nobody(code, str(open_ws), cwd=open_ws)
    assert proc.returncode == 0, proc.stderr
    assert state(open_ws / "report.json")[:2] == (b'{"new": 1}', 65534)
