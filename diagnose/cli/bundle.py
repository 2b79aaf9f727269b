"""`earthly-doctor bundle`: a redacted support bundle (.tar.gz)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from earthly_doctor.cli.common import seconds
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment
from earthly_doctor.errors import DoctorError
from earthly_doctor.exitstatus import ExitStatus


def register(app: typer.Typer) -> None:
    @app.command("bundle")
    def bundle_cmd(
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write the bundle (default: ./earthly-doctor-bundle-<UTC time>.tar.gz)."),
        log: Optional[List[str]] = typer.Option(None, "--log", help="A build log to triage and excerpt (plain, gzip, - for stdin). Repeatable."),
        jenkinsfile: Optional[str] = typer.Option(None, "--jenkinsfile", help="The Jenkinsfile to include (default: ./Jenkinsfile when present)."),
        context: int = typer.Option(20, "--context", min=0, max=100_000,
                                    help="Log lines kept before and after each finding."),
        timeout: float = seconds(10.0, "--timeout", "Deadline for the checks, in seconds."),
        docker_host: Optional[str] = typer.Option(None, "--docker-host", help="Daemon to diagnose (default: DOCKER_HOST, the docker CLI context, /var/run/docker.sock)."),
    ) -> None:
        """Write a support bundle: report, environment facts, Earthly/Docker config, Jenkinsfile, log excerpts,
        versions and a manifest. Secrets are redacted; the manifest lists what was redacted and where."""
        from earthly_doctor.commands.bundle import BundleRequest, build_bundle

        env = Environment()
        terminal = Terminal(env)
        request = BundleRequest(output, list(log or []), jenkinsfile, timeout, docker_host, context)
        terminal.progress("earthly-doctor: collecting the support bundle…")
        with terminal.expected_failures():
            try:
                result = build_bundle(env, request)
            except OSError as exc:
                raise DoctorError(f"could not write {output}: {exc.strerror or exc}") from exc
        terminal.out(
            f"{result.path}\n"
            f"earthly-doctor: wrote {len(result.files)} files (verdict: {result.verdict}); "
            f"{len(result.redactions)} secrets redacted, listed by file and kind in manifest.json\n"
        )
        raise typer.Exit(int(ExitStatus.OK))
