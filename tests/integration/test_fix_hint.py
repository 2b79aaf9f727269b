"""The dry run's "To apply" command, pasted in another folder, applies exactly the plan the dry run showed.

Real processes (`python -m earthly_doctor fix`), real files: the dry run runs in one folder with relative paths;
its printed command runs in another, and the file must then hold what the editor planned (the golden).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from earthly_doctor.remedies.edit.text import EditRefused
from tests.integration.test_fix_cli import FAILURE, cli, write_report
from tests.unit.test_remedy_goldens import JENKINSFILES, PUBLIC, read, run_editor

CASES = [
    (PUBLIC / "storj-eventkit.Jenkinsfile", "disable-proxy", []),
    (PUBLIC / "namely-chief-of-state.Jenkinsfile", "disable-proxy", ["--style", "flag"]),
    (PUBLIC / "vexxhost-atmosphere.Jenkinsfile", "disable-proxy", ["--style", "flag", "--stage", "helm"]),
    (JENKINSFILES / "matrix.Jenkinsfile", "disable-proxy", ["--stage", "Build"]),
    (JENKINSFILES / "docker-run-earthly-target.Jenkinsfile", "host-network", []),
    (JENKINSFILES / "per-stage-agents.Jenkinsfile", "host-network", []),
    (JENKINSFILES / "crlf.Jenkinsfile", "disable-proxy", ["--style", "env"]),
]


def hint(stdout: str, remedy: str) -> list[str]:
    prefix = f"To apply {remedy}: "
    lines = [line[len(prefix):] for line in stdout.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, stdout
    argv = shlex.split(lines[0])
    assert argv[:3] == ["earthly-doctor", "fix", "--apply"]
    return argv[1:]


def two_folders(tmp_path: Path, source: Path) -> tuple[Path, Path, Path]:
    """A repository folder with ci/Jenkinsfile (a copy of `source`) and a report, and an unrelated folder."""
    here, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    (here / "ci").mkdir(parents=True)
    elsewhere.mkdir()
    target = here / "ci" / "Jenkinsfile"
    target.write_bytes(source.read_bytes())
    write_report(here / "report.json")
    return here, elsewhere, target


def options(args: list[str]) -> dict[str, str]:
    return {args[i].lstrip("-"): args[i + 1] for i in range(0, len(args), 2)}


@pytest.mark.parametrize("source,remedy,extra", CASES, ids=[f"{c[0].name}-{c[1]}-{'-'.join(c[2])}" for c in CASES])
def test_the_printed_command_applies_the_same_plan_from_another_folder(
    tmp_path: Path, source: Path, remedy: str, extra: list[str]
) -> None:
    here, elsewhere, target = two_folders(tmp_path, source)
    dry = cli(here, "--from", "report.json", "--remedy", remedy, "--file", "ci/Jenkinsfile", *extra)
    assert dry.returncode == 0, dry.stderr
    argv = hint(dry.stdout, remedy)
    assert argv[argv.index("--from") + 1] == str(here / "report.json")
    assert argv[argv.index("--file") + 1] == str(target)
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        assert argv[argv.index(flag) + 1] == value
    assert target.read_bytes() == source.read_bytes()  # the dry run wrote nothing

    applied = cli(elsewhere, *argv[1:])
    assert applied.returncode == 0, applied.stderr
    expected = run_editor(remedy, source, read(source), options(extra)).text
    assert target.read_bytes() == expected.encode("utf-8")
    assert f"{remedy}: applied" in applied.stdout


def test_default_targets_and_a_log_are_named_in_the_command(tmp_path: Path):
    """Without --file the dry run edits ./Jenkinsfile: the command names it (and the log) by absolute path."""
    here, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    (here / "Jenkinsfile").write_bytes((PUBLIC / "storj-eventkit.Jenkinsfile").read_bytes())
    (here / "build log.txt").write_text("[Pipeline] sh\n+ earthly +image\n" + FAILURE)
    dry = cli(here, "--log", "build log.txt", "--remedy", "disable-proxy")
    assert dry.returncode == 0, dry.stderr
    argv = hint(dry.stdout, "disable-proxy")
    assert argv[argv.index("--log") + 1] == str(here / "build log.txt")
    assert argv[argv.index("--file") + 1] == str(here / "Jenkinsfile")
    applied = cli(elsewhere, *argv[1:])
    assert applied.returncode == 0, applied.stderr
    assert b"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY = 'true'" in (here / "Jenkinsfile").read_bytes()


def test_a_refused_dry_run_exits_2_says_why_once_and_offers_nothing_to_apply(tmp_path: Path):
    (tmp_path / "Jenkinsfile").write_bytes((PUBLIC / "namely-chief-of-state.Jenkinsfile").read_bytes())
    write_report(tmp_path / "report.json")
    proc = cli(tmp_path, "--from", "report.json", "--remedy", "host-network")
    assert proc.returncode == 2
    reason = "earthly runs on the node (node block, line 11), not in a container"
    assert (proc.stdout + proc.stderr).count(reason) == 1
    error = (f"earthly-doctor: error: Jenkinsfile:55: {reason}, so there is no container network to change; use "
             "disable-proxy, or run earthly in a docker agent; nothing was written")
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [error]
    assert "To apply" not in proc.stdout and "host-network: refused; there is nothing to apply" in proc.stdout


def test_first_apply_with_nothing_to_edit_does_not_claim_already_applied(tmp_path: Path):
    (tmp_path / "Jenkinsfile").write_bytes((JENKINSFILES / "kubernetes-agent.Jenkinsfile").read_bytes())
    write_report(tmp_path / "report.json")
    proc = cli(tmp_path, "--from", "report.json", "--apply", "--remedy", "host-network")
    assert proc.returncode == 0, proc.stderr
    assert "already" not in proc.stdout
    assert "Jenkinsfile: nothing to change" in proc.stdout
    assert "\\n" not in proc.stdout  # the pod spec note is printed as lines, not with a literal backslash-n
    assert re.search(r"note: .*hostNetwork: true.*\n +spec:\n +hostNetwork: true\n", proc.stdout)


def test_disable_proxy_warns_on_stderr_naming_a_file_without_earthly(tmp_path: Path):
    (tmp_path / "Jenkinsfile").write_bytes((PUBLIC / "docker-workflow-agentDocker.Jenkinsfile").read_bytes())
    write_report(tmp_path / "report.json")
    proc = cli(tmp_path, "--from", "report.json", "--remedy", "disable-proxy")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "no earthly call is visible" in line]
    assert len(warnings) == 1 and str(tmp_path / "Jenkinsfile") in warnings[0]



ALL = [(p, r) for p in sorted(JENKINSFILES.glob("*.Jenkinsfile")) + sorted(PUBLIC.glob("*.Jenkinsfile"))
       for r in ("disable-proxy", "host-network")]


@pytest.mark.parametrize("source,remedy", ALL, ids=[f"{p.name}-{r}" for p, r in ALL])
def test_every_corpus_dry_run_hint_applies_its_plan_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path, remedy: str
) -> None:
    """In process (the CLI app through typer's runner) so the whole corpus stays fast: dry run in one folder with
    relative paths, then the printed command from another; the file ends as the plan's diff said, or, for a refused
    plan, no command is printed, the exit status is 2, and nothing is written."""
    from typer.testing import CliRunner

    from earthly_doctor.cli.app import build_app

    here, elsewhere, target = two_folders(tmp_path, source)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(here)
    dry = CliRunner().invoke(build_app(), ["fix", "--from", "report.json", "--remedy", remedy, "--file", "ci/Jenkinsfile"])
    try:
        planned = run_editor(remedy, source, read(source), {}).text
    except EditRefused:  # a refusal: the dry run must say so and offer nothing
        assert dry.exit_code == 2 and "To apply" not in dry.stdout
        assert target.read_bytes() == source.read_bytes()
        return
    assert dry.exit_code == 0, dry.output
    if planned == read(source):  # print-only (a pod spec): nothing to apply
        assert "To apply" not in dry.stdout and f"{remedy}: nothing to change" in dry.stdout
        return
    argv = hint(dry.stdout, remedy)
    monkeypatch.chdir(elsewhere)
    applied = CliRunner().invoke(build_app(), argv)
    assert applied.exit_code == 0, applied.output
    assert target.read_bytes() == planned.encode("utf-8")
