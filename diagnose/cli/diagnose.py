"""`earthly-doctor diagnose`: run the checks here and now and print the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from earthly_doctor.cli import common
from earthly_doctor.cli.output import run_report
from earthly_doctor.cli.common import seconds
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment

if TYPE_CHECKING:
    from earthly_doctor.model import Report


def register(app: typer.Typer) -> None:
    @app.command("diagnose")
    def diagnose_cmd(
        only: Optional[List[str]] = typer.Option(None, "--only", help="Run only these check codes or categories (comma-separated or repeated)."),
        skip: Optional[List[str]] = typer.Option(None, "--skip", help="Skip these check codes or categories."),
        timeout: float = seconds(10.0, "--timeout", "Deadline for the whole run, in seconds."),
        probe_timeout: float = seconds(5.0, "--probe-timeout", "Deadline for one daemon call or probe, in seconds."),
        docker_host: Optional[str] = typer.Option(None, "--docker-host", help="Daemon to diagnose (default: DOCKER_HOST, the docker CLI context, /var/run/docker.sock)."),
        fmt: str = common.FormatOpt,
        output: Optional[List[str]] = common.OutputOpt,
        fail_on: str = common.FailOnOpt,
        exit_zero: bool = common.ExitZeroOpt,
        verbose: bool = common.VerboseOpt,
        log: Optional[List[str]] = typer.Option(None, "--log", help="Also triage this build log (plain, gzip, - for stdin) into the same report. Repeatable."),
        signatures: Optional[List[str]] = typer.Option(None, "--signatures", help="Extra signature folder for --log (see `triage --signatures`)."),
        container: Optional[str] = typer.Option(
            None, "--container", metavar="ID|NAME",
            help="Diagnose this running container from outside: run the doctor image in its network and PID "
            "namespaces (no Python needed in the container), relay its report and exit code, remove it.",
        ),
        image: Optional[str] = typer.Option(
            None, "--image", help="The doctor image for --container (default earthly-doctor:<this version>; "
            "build it with docker/build-image.sh).",
        ),
    ) -> None:
        """Check whether the Docker daemon can reach Earthly's registry proxy from here, and why not."""
        from earthly_doctor.commands.diagnose import DiagnoseRequest, diagnose
        from earthly_doctor.context import Context, Options, process_started
        from earthly_doctor.triage.library import check_logs

        env = Environment()
        terminal = Terminal(env)
        if image is not None and container is None:
            terminal.error("--image goes with --container")
            raise typer.Exit(2)
        if container is not None:
            if log:
                terminal.error("--log cannot be combined with --container (triage the log with `earthly-doctor triage`)")
                raise typer.Exit(2)

            def beside() -> Report:
                from earthly_doctor.commands.diagnose_container import (
                    DEFAULT_IMAGE, BesideFailed, BesideRequest, diagnose_beside,
                )

                request = BesideRequest(container, image or DEFAULT_IMAGE, timeout, probe_timeout, only or [],
                                        skip or [], docker_host)
                terminal.progress(f"earthly-doctor: diagnosing container {container} from beside it ({request.image})…")
                try:
                    return diagnose_beside(env.env, request)
                except BesideFailed as exc:  # the inner doctor's own exit status (2 usage, 3 internal) is relayed
                    terminal.error(str(exc))
                    raise typer.Exit(exc.code if exc.code in (2, 3) else 3) from None

            run_report(terminal, beside, fmt=fmt, output=output, fail_on=fail_on, exit_zero=exit_zero, verbose=verbose)

        def produce() -> Report:
            request = DiagnoseRequest(only=only or [], skip=skip or [])
            options = Options(timeout=timeout, probe_timeout=probe_timeout, docker_host=docker_host, verbose=verbose,
                              logs=tuple(log or []), signature_dirs=tuple(signatures or []))
            # A missing log or a bad signature folder (even without a log: a mistyped folder must not pass
            # silently) is one line and exit 2, before any check runs; ED160 then triages the logs through the
            # `build_logs` fact, under the run's deadline like every other check.
            if options.logs or options.signature_dirs:
                check_logs(options.logs, options.signature_dirs)
            ctx = Context(env=env, options=options, started=process_started())
            terminal.progress("earthly-doctor: probing the Docker daemon and this namespace…")
            return diagnose(ctx, request)

        run_report(terminal, produce, fmt=fmt, output=output, fail_on=fail_on, exit_zero=exit_zero, verbose=verbose)
