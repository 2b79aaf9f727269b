"""`run -- earthly …`: preflight, then the build with the settings that work here, and one retry when the build
fails with the unreachable-proxy signature (Earthly itself has no fallback after a failed pull)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from earthly_doctor.commands.preflight import DEFAULT_TIMEOUT, Preflight, parse_command, preflight
from earthly_doctor.errors import UsageError
from earthly_doctor.stream import ChildExit, run_streaming

Notify = Callable[[str], None]
Spawn = Callable[..., ChildExit]


@dataclass
class RunRequest:
    argv: list[str]
    retry: bool = True
    preflight: bool = True
    preflight_timeout: float = DEFAULT_TIMEOUT
    docker_host: str | None = None


@dataclass
class Attempt:
    number: int
    variables: dict[str, str]  # what we set for this attempt
    exit: ChildExit
    signature: dict[str, Any] | None = None  # the unreachable-proxy match, when the output showed it


@dataclass
class RunResult:
    preflight: Preflight
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.attempts[-1].exit.code if self.attempts else 0


class SignatureWatch:
    """Feeds each output stream to its own triage scanner; remembers the first unreachable-proxy match."""

    def __init__(self) -> None:
        from earthly_doctor.triage import PROXY_UNREACHABLE, Scanner, load_signatures

        self._wanted = PROXY_UNREACHABLE
        signatures = load_signatures()
        self._scanners = {"stdout": Scanner(signatures), "stderr": Scanner(signatures)}
        self.match: Any = None

    def __call__(self, stream: str, data: bytes) -> None:
        self._take(self._scanners[stream].feed(data))

    def finish(self) -> None:
        for scanner in self._scanners.values():
            self._take(scanner.finish())

    def _take(self, matches: list[Any]) -> None:
        if self.match is None:
            self.match = next((m for m in matches if m.id == self._wanted), None)

    def summary(self) -> dict[str, Any] | None:
        if self.match is None:
            return None
        m = self.match
        return {"line": m.line, "summary": m.signature.render_summary(m.fields), **m.fields}


def retry_decision(request: RunRequest, first: Attempt, preflight_result: Preflight) -> tuple[bool, str]:
    """(retry?, why): only for the unreachable-proxy failure, only once, only when the proxy was on."""
    if first.exit.code == 0 or not first.exit.started:
        return False, "the build did not fail with it"
    if first.exit.forwarded or first.exit.signal is not None:
        return False, "the build was interrupted by a signal"
    if first.signature is None:
        return False, "the failure is not the unreachable-proxy one"
    if first.variables:
        return False, "the proxy was already disabled for this attempt"
    if preflight_result.proxy.enabled is False:
        return False, "the proxy was already disabled"
    if preflight_result.proxy.enabled is None:
        return False, "the proxy setting is invalid and left as it is"
    if not request.retry:
        return False, "--no-retry"
    return True, "the build failed with the unreachable-proxy signature"


def run(
    request: RunRequest,
    environment: Any,
    notify: Notify,
    *,
    spawn: Spawn = run_streaming,
    checks: list[Any] | None = None,
) -> RunResult:
    if not request.argv:
        raise UsageError("nothing to run: give the build command after `--` (earthly-doctor run -- earthly +target)")
    command = parse_command(request.argv)
    result = RunResult(
        preflight(environment, command, timeout=request.preflight_timeout, docker_host=request.docker_host,
                  probe=request.preflight, checks=checks)
    )
    if result.preflight.proxy.warning:
        notify(f"earthly-doctor: warning: {result.preflight.proxy.warning}")
    if result.preflight.line:
        notify(result.preflight.line)

    # --docker-host names the daemon Earthly uses: the build must talk to the daemon the preflight probed.
    pinned = {"DOCKER_HOST": request.docker_host} if request.docker_host else {}
    variables = dict(result.preflight.variables)
    first = _attempt(1, request.argv, environment, variables, spawn, pinned)
    result.attempts.append(first)
    if not first.exit.started:
        notify(f"earthly-doctor: error: {first.exit.error}")
        return result
    if first.signature is None:
        return result
    retry, why = retry_decision(request, first, result.preflight)
    notify(f"earthly-doctor: {first.signature['summary']} (line {first.signature['line']} of the build output)")
    if not retry:
        if why == "--no-retry":
            names = " or ".join(f"{n}=true" for n in command.variables)
            notify(f"earthly-doctor: not retrying (--no-retry); build with {names} to export without the proxy")
        return result
    variables = dict.fromkeys(command.variables, "true")
    notify(f"earthly-doctor: retrying once with {' and '.join(f'{k}=true' for k in variables)}")
    result.attempts.append(_attempt(2, request.argv, environment, variables, spawn, pinned))
    return result


def _attempt(number: int, argv: list[str], environment: Any, variables: dict[str, str], spawn: Spawn,
             pinned: dict[str, str] | None = None) -> Attempt:
    watch = SignatureWatch()
    env = {**environment.env, **(pinned or {}), **variables}
    exit_ = spawn(argv, env, watch, cwd=str(environment.cwd))
    watch.finish()
    return Attempt(number, variables, exit_, watch.summary())
