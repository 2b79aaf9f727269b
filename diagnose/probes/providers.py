"""Fact providers: the only place where a check's view of the world is produced. Importing registers them."""

from __future__ import annotations

from earthly_doctor.context import Context, FactError, provides
from earthly_doctor.probes.canary import CanaryResult, run_canary
from earthly_doctor.probes.docker_client import DaemonHandle, connect
from earthly_doctor.probes.docker_endpoint import find_endpoint


def _probe_timeout(ctx: Context) -> float:
    return max(0.1, min(ctx.options.probe_timeout, ctx.options.timeout))


@provides("docker", timeout=30.0)
def docker_daemon(ctx: Context) -> DaemonHandle:
    """The Docker daemon Earthly would use, connected with explicit timeouts (never raises for a dead daemon)."""
    endpoint = find_endpoint(ctx.env.env, ctx.options.docker_host)
    return connect(endpoint, ctx.env.env, _probe_timeout(ctx))


def require_daemon(ctx: Context) -> DaemonHandle:
    handle: DaemonHandle = ctx.fact("docker")
    if not handle.ok:
        raise FactError(f"no usable Docker daemon: {handle.error}")
    return handle


@provides("canary", timeout=30.0)
def loopback_canary(ctx: Context) -> CanaryResult:
    """Whether the daemon can reach a listener on this namespace's loopback (the canary pull)."""
    handle = require_daemon(ctx)
    return run_canary(handle.client, _probe_timeout(ctx))
