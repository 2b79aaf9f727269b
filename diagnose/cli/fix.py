"""`earthly-doctor fix`: show the remedies for the diagnosed topology as diffs; `--apply` writes, `--undo` restores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from earthly_doctor.cli.common import seconds
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment

if TYPE_CHECKING:
    from earthly_doctor.model import Report
from earthly_doctor.errors import UsageError
from earthly_doctor.exitstatus import ExitStatus


def register(app: typer.Typer) -> None:
    @app.command("fix")
    def fix_cmd(
        from_report: Optional[Path] = typer.Option(None, "--from", help="Use a saved report (diagnose --format json) instead of diagnosing now."),
        log: Optional[List[str]] = typer.Option(None, "--log", help="Use the triage of this build log instead of diagnosing now. Repeatable."),
        signatures: Optional[List[str]] = typer.Option(None, "--signatures", help="Extra signature folder for --log."),
        remedy: Optional[str] = typer.Option(None, "--remedy", "-r", help="Plan or apply only this remedy (default: all that apply; --apply takes the best)."),
        files: Optional[List[Path]] = typer.Option(None, "--file", help="Edit this file (Jenkinsfile, .env, shell script, Dockerfile, config.yml). Repeatable."),
        apply: bool = typer.Option(False, "--apply", help="Write the edits (with a backup next to each file, atomically). Default: dry run."),
        verify: bool = typer.Option(False, "--verify", help="After --apply, re-run the checks that show the remedy's effect."),
        undo: bool = typer.Option(False, "--undo", help="Restore the files from earthly-doctor's backups."),
        force: bool = typer.Option(False, "--force", help="--apply: write read-only files too. --undo: restore even "
                                   "a file changed since apply (its later edits are lost)."),
        style: Optional[str] = typer.Option(None, "--style", help="disable-proxy: `env` (environment/withEnv/export) or `flag` (on earthly command lines)."),
        stage: Optional[str] = typer.Option(None, "--stage", help="disable-proxy in a declarative Jenkinsfile: this stage's environment instead of the pipeline's."),
        earthbuild: bool = typer.Option(False, "--earthbuild", help="Spell variables for EarthBuild (EARTH_…) in .env files."),
        fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
        timeout: float = seconds(10.0, "--timeout", "Deadline for a live diagnosis, in seconds."),
        probe_timeout: float = seconds(5.0, "--probe-timeout", "Deadline for one daemon call or probe, in seconds."),
        docker_host: Optional[str] = typer.Option(None, "--docker-host", help="Daemon to diagnose (default: DOCKER_HOST, the docker CLI context, the default socket)."),
    ) -> None:
        """Fix what `diagnose` found: ranked remedies as diffs and commands; a dry run unless --apply."""
        from earthly_doctor.commands.fix import FixRequest, fix, refusal_lines
        from earthly_doctor.reports.plan import render_fix_json, render_fix_plain, render_fix_rich

        env = Environment()
        terminal = Terminal(env)

        def diagnoser(only: list[str]) -> Report:
            from earthly_doctor.commands.diagnose import DiagnoseRequest, diagnose
            from earthly_doctor.context import Context, Options

            terminal.progress("earthly-doctor: probing the Docker daemon and this namespace…")
            ctx = Context(env=env, options=Options(timeout=timeout, probe_timeout=probe_timeout, docker_host=docker_host))
            return diagnose(ctx, DiagnoseRequest(only=list(only)))

        with terminal.expected_failures():
            if fmt not in ("text", "json"):
                raise UsageError(f"--format {fmt!r}: choose text or json")
            if verify and not apply:
                raise UsageError("--verify needs --apply")
            if undo and apply:
                raise UsageError("--undo and --apply exclude each other")
            from earthly_doctor.plugins import load_checks

            request = FixRequest(
                from_report=from_report, logs=list(log or []), signature_dirs=list(signatures or []), remedy=remedy,
                files=[Path(f) for f in files or []], apply=apply, verify=verify, undo=undo, force=force, style=style,
                stage=stage,
                earthbuild=earthbuild, cwd=env.cwd, env=dict(env.env),
            )
            codes = {c.code for c in load_checks().items} if verify else None
            result = fix(request, diagnoser, codes)
        for warning in result.warnings:
            terminal.warn(warning)
        if fmt == "json":
            terminal.out(render_fix_json(result))
        elif terminal.rich:
            render_fix_rich(result, terminal.console)
        else:
            terminal.out(render_fix_plain(result))
        # Each refusal once, as one line on stderr: an error when it stops the fix, else a warning.
        say = terminal.error if result.refused else terminal.warn
        for line in refusal_lines(result):
            say(line)
        if result.refused:
            raise typer.Exit(int(ExitStatus.USAGE))
        raise typer.Exit(int(ExitStatus.OK))
