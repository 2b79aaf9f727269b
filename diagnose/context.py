"""Facts about the world, gathered lazily, once each, each behind its own timeout.

Checks ask `ctx.fact("docker")`; the first asker computes it in a worker thread, every later asker (even a
concurrent one) waits for the same result. A provider that overruns its timeout raises `FactTimeout` in every
asker instead of hanging the run. Tests inject facts with `overrides` or whole providers with `providers`.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

from earthly_doctor.environment import Environment

ProviderFn = Callable[["Context"], Any]


class FactError(Exception):
    """A fact could not be gathered; the message is one clear line for the report."""


class FactTimeout(FactError):
    pass


@dataclass(frozen=True)
class Provider:
    name: str
    fn: ProviderFn
    timeout: float
    doc: str = ""


_REGISTRY: dict[str, Provider] = {}

# After the run's deadline, a fact or check that is finishing (a probe whose own bound was clamped to the deadline)
# gets this long to report, so its answer is a finding rather than "did not finish"; the run still ends within
# --timeout + 1 s (DESIGN §8).
GRACE = 0.5


def process_started() -> float:
    """When this process started, on the time.monotonic() clock: the interpreter's start-up counts against
    --timeout too (the contract is measured from outside). Now, where /proc cannot tell."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, AttributeError):
        return time.monotonic()
    if not 0.0 <= age <= 3.0:  # a long-lived host (a test runner calling the CLI in-process): its own clock
        return time.monotonic()
    return time.monotonic() - age


def provides(name: str, *, timeout: float = 3.0) -> Callable[[ProviderFn], ProviderFn]:
    """Register a fact provider. The timeout bounds this one fact, whatever the run's deadline."""

    def register(fn: ProviderFn) -> ProviderFn:
        _REGISTRY[name] = Provider(name, fn, timeout, (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "")
        return fn

    return register


def default_providers() -> dict[str, Provider]:
    """The providers registered so far (the runner imports the built-in ones, `probes/providers.py`, before a run)."""
    return dict(_REGISTRY)


@dataclass
class Options:
    """Run-wide settings that probes read (from CLI flags)."""

    timeout: float = 10.0  # whole-run deadline, seconds
    probe_timeout: float = 5.0  # one network probe (a daemon call, the canary pull)
    docker_host: str | None = None  # overrides DOCKER_HOST / context / default socket
    verbose: bool = False
    logs: tuple[str, ...] = ()  # build logs to triage (ED160; `-` is stdin)
    signature_dirs: tuple[str, ...] = ()  # the users' signatures for those logs


@dataclass
class Context:
    env: Environment = field(default_factory=Environment)
    options: Options = field(default_factory=Options)
    providers: dict[str, Provider] | None = None  # None: the registry (built-in and plugin providers)
    overrides: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}
        self.timings: dict[str, float] = {}

    def provider(self, name: str) -> Provider | None:
        # Looked up at use, not copied at construction: the context never imports the probes that register them.
        return (_REGISTRY if self.providers is None else self.providers).get(name)

    @property
    def deadline(self) -> float:
        return self.started + self.options.timeout

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def fact(self, name: str) -> Any:
        """The fact's value; raises FactError (or FactTimeout) with a one-line reason."""
        if name in self.overrides:
            value = self.overrides[name]
            if isinstance(value, BaseException):
                raise value
            return value
        provider = self.provider(name)
        if provider is None:
            raise FactError(f"no provider for fact {name!r}")
        with self._lock:
            known = self._futures.get(name)
            future = Future() if known is None else known
            if known is None:
                self._futures[name] = future
        if known is None:
            self._start(provider, future)
        wait = min(provider.timeout, self.remaining())
        try:
            return future.result(timeout=wait + (0.05 if wait >= provider.timeout else GRACE))
        except TimeoutError:
            if wait < provider.timeout:
                # The run's deadline cut it short, not the fact's own bound: do not blame the daemon for our --timeout.
                raise FactTimeout(f"{name}: not finished by the run's deadline ({self.options.timeout:g}s)") from None
            raise FactTimeout(f"{name}: no answer within {wait:.1f}s") from None

    def prefetch(self, name: str) -> None:
        """Start a fact now, in the background: its probe (and the SDK import) overlaps the rest of start-up."""
        if name in self.overrides or not self.providers or name not in self.providers:
            return
        with self._lock:
            if name in self._futures:
                return
            future: Future[Any] = Future()
            self._futures[name] = future
        self._start(self.providers[name], future)

    def try_fact(self, name: str, default: Any = None) -> Any:
        try:
            return self.fact(name)
        except FactError:
            return default

    def _start(self, provider: Provider, future: Future[Any]) -> None:
        def work() -> None:
            began = time.monotonic()
            try:
                future.set_result(provider.fn(self))
            except FactError as exc:
                future.set_exception(exc)
            except Exception as exc:  # noqa: BLE001 -- a provider bug must not kill the run; it becomes a FactError
                error = FactError(f"{provider.name}: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
                future.set_exception(error)
            finally:
                self.timings[provider.name] = time.monotonic() - began

        # Daemon threads: a provider stuck in a syscall must not keep the process alive past the deadline.
        threading.Thread(target=work, name=f"fact:{provider.name}", daemon=True).start()
