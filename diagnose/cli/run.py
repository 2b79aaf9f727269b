"""`earthly-doctor run -- earthly …` and `earthly-doctor preflight`."""

from __future__ import annotations

import json
import signal
import sys
from typing import Optional

import typer

from earthly_doctor.cli.common import seconds
from earthly_doctor.cli.terminal import Terminal
from earthly_doctor.environment import Environment
from earthly_doctor.errors import UsageError
from earthly_doctor.exitstatus import ExitStatus

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False}
PreflightTimeoutOpt = seconds(
    5.0, "--preflight-timeout", "Bound for the preflight checks, in seconds; on timeout the build runs as is.")
DockerHostOpt = typer.Option(None, "--docker-host", help="Daemon Earthly uses (default: DOCKER_HOST, the docker CLI context, /var/run/docker.sock).")
RunDockerHostOpt = typer.Option(None, "--docker-host", help="Daemon Earthly uses; the build gets DOCKER_HOST=URL too (default: DOCKER_HOST, the docker CLI context, /var/run/docker.sock).")


def command_args(ctx: typer.Context) -> list[str]:
    """The build command after `--`. An unknown option before it lands here too (ignore_unknown_options keeps the
    command's own options intact), and no build command starts with `-`: that is a mistyped option of ours."""
    args = list(ctx.args)
    if args and args[0].startswith("-"):
        raise UsageError(f"no such option: {args[0]} (the build command goes after `--`; see --help)")
    return args


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def register(app: typer.Typer) -> None:
    @app.command("run", context_settings=PASS_THROUGH, options_metavar="[OPTIONS] -- EARTHLY_COMMAND [ARGS]...")
    def run_cmd(
        ctx: typer.Context,
        no_retry: bool = typer.Option(False, "--no-retry", help="Do not retry a build that failed with the unreachable-proxy signature."),
        no_preflight: bool = typer.Option(False, "--no-preflight", help="Skip the preflight probe; still watch the build and retry."),
        preflight_timeout: float = PreflightTimeoutOpt,
        docker_host: Optional[str] = RunDockerHostOpt,
    ) -> None:
        """Run an Earthly build with the settings that work here: `earthly-doctor run -- earthly +target`.

        Probes first; when the Docker daemon cannot reach this namespace's loopback it disables Earthly's registry
        proxy for this run and says why in one line. Output, stdin, signals and the exit code pass through. A build
        that still fails with the unreachable-proxy error is retried once with the proxy disabled.
        """
        from earthly_doctor.commands.run import RunRequest, run

        env = Environment()
        terminal = Terminal(env)

        def notify(line: str) -> None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

        with terminal.expected_failures():
            request = RunRequest(command_args(ctx), retry=not no_retry, preflight=not no_preflight,
                                 preflight_timeout=preflight_timeout, docker_host=docker_host)
        sys.stdout.flush()
        # Outside the build (preflight, between attempts) a Jenkins abort ends us at once, even as a container's PID 1.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _exit_on_signal)
        with terminal.expected_failures():
            result = run(request, env, notify)
        raise typer.Exit(result.exit_code)

    @app.command("preflight", context_settings=PASS_THROUGH, options_metavar="[OPTIONS] [-- EARTHLY_COMMAND [ARGS]...]")
    def preflight_cmd(
        ctx: typer.Context,
        fmt: str = typer.Option("env", "--format", "-f", help="env: KEY=VALUE lines to build with (none when nothing needs changing); json: the decision and evidence."),
        binary: str = typer.Option("earthly", "--binary", help="earthly or earth (EarthBuild: EARTH_ variables). A full command after `--` is read instead when given."),
        timeout: float = seconds(5.0, "--timeout", "Bound for the preflight checks, in seconds."),
        docker_host: Optional[str] = DockerHostOpt,
    ) -> None:
        """Print the environment to run Earthly with here (for pipelines that run Earthly themselves).

        `eval "$(earthly-doctor preflight | sed 's/^/export /')"`, or Jenkins: `withEnv(sh(script: 'earthly-doctor
        preflight', returnStdout: true).readLines()) { sh 'earthly +target' }`. The reason goes to stderr.
        """
        from earthly_doctor.commands.preflight import env_lines, parse_command, preflight

        env = Environment()
        terminal = Terminal(env)
        with terminal.expected_failures():
            if fmt not in ("env", "json"):
                raise UsageError(f"--format {fmt!r}: choose env or json")
            if binary not in ("earthly", "earth"):
                raise UsageError(f"--binary {binary!r}: choose earthly or earth")
            args = command_args(ctx)
            command = parse_command(args or [binary])
            result = preflight(env, command, timeout=timeout, docker_host=docker_host, assume_export=not args)
        if result.proxy.warning:
            terminal.warn(result.proxy.warning)
        line = result.describe("build with {env}", "nothing to change")
        if line:
            sys.stderr.write(line + "\n")
        if fmt == "json":
            terminal.out(json.dumps(result.to_dict(), indent=2) + "\n")
        else:
            terminal.out(env_lines(result))
        raise typer.Exit(int(ExitStatus.OK))
