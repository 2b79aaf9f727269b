"""Fact providers: the only place where a check's view of the world is produced. Importing registers them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from earthly_doctor.context import Context, FactError, provides
from earthly_doctor.model import Finding
from earthly_doctor.probes.canary import CanaryResult, run_canary
from earthly_doctor.probes.docker_client import DaemonHandle, connect
from earthly_doctor.probes.docker_endpoint import find_endpoint

if TYPE_CHECKING:
    from earthly_doctor.probes.agent import AgentContainer
    from earthly_doctor.probes.buildkitd import Buildkitd
    from earthly_doctor.probes.container import ContainerIdentity
    from earthly_doctor.probes.earthly_settings import EarthlySettings
    from earthly_doctor.probes.netns import NetnsFacts
    from earthly_doctor.probes.network_mode import NetworkMode
    from earthly_doctor.probes.processes import EarthlyProcess
    from earthly_doctor.probes.reach import Reach


# Kept back from each probe's share of the run's deadline, so a probe that times out still has its finding told
# (a check reporting, the verdict) before `--timeout`: a silent daemon is then a finding, not "did not finish".
RESERVE = 0.3
MIN_PROBE = 0.25  # even a nearly spent run gives a daemon this long: a healthy local one answers in milliseconds


def _probe_timeout(ctx: Context) -> float:
    """One probe's bound: --probe-timeout, clamped to what is left of --timeout (less the reserve)."""
    return max(MIN_PROBE, min(ctx.options.probe_timeout, ctx.remaining() - RESERVE))


@provides("docker", timeout=30.0)
def docker_daemon(ctx: Context) -> DaemonHandle:
    """The Docker daemon Earthly would use, connected with explicit timeouts (never raises for a dead daemon)."""
    endpoint = find_endpoint(ctx.env.env, ctx.options.docker_host)
    # The bound is taken again at each request (importing the SDK alone can cost a loaded machine half a second).
    return connect(endpoint, ctx.env.env, _probe_timeout(ctx), deadline=ctx.deadline - RESERVE)


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


@provides("container", timeout=1.0)
def container_identity(ctx: Context) -> ContainerIdentity:
    """Whether this process runs in a container, which runtime and id, and the signals that said so (ED101)."""
    from earthly_doctor.probes.container import detect_container

    return detect_container(ctx.env.proc_root, ctx.env.fs_root, ctx.env.env)


@provides("netns", timeout=3.0)
def network_namespace(ctx: Context) -> NetnsFacts:
    """This process's network namespace, compared with the daemon process's when it is visible (ED102)."""
    from earthly_doctor.probes.netns import compare_with_daemon

    import threading

    # /info tells daemons apart by DockerRootDir, but a stuck daemon must not cost us our own answer: wait a
    # bounded while, then match by the endpoint alone.
    box: list[Any] = []
    waiter = threading.Thread(target=lambda: box.append(ctx.try_fact("docker")), daemon=True)
    waiter.start()
    waiter.join(min(2.0, ctx.remaining()))
    handle = box[0] if box else None
    endpoint = handle.endpoint.url if handle is not None else find_endpoint(ctx.env.env, ctx.options.docker_host).url
    info = handle.info if handle is not None and handle.ok else None
    return compare_with_daemon(ctx.env.proc_root, endpoint, info)


@provides("network_mode", timeout=10.0)
def network_mode(ctx: Context) -> NetworkMode | None:
    """This container's HostConfig.NetworkMode from the daemon, followed through container:<id> (ED103)."""
    from earthly_doctor.probes.container import hostname
    from earthly_doctor.probes.network_mode import resolve

    ident = ctx.fact("container")
    if not ident.containerized:
        return None
    handle = require_daemon(ctx)
    if ident.container_id:
        return resolve(handle.client, ident.container_id, f"container id from {ident.fired[0].source if ident.fired else '?'}")
    name = hostname(ctx.env.fs_root, ctx.env.env)
    if not name:
        raise FactError("no container id and no hostname to look this container up by")
    return resolve(handle.client, name, "hostname (weak: Docker's default hostname is the short id)")


@provides("earthly_processes", timeout=3.0)
def earthly_processes(ctx: Context) -> list[EarthlyProcess]:
    """Running earthly/earth processes, their 127.0.0.1 listeners, and whether each answers GET /v2/ (ED130)."""
    from earthly_doctor.probes.processes import find_earthly_processes

    return find_earthly_processes(ctx.env.proc_root, timeout=min(1.0, _probe_timeout(ctx)))


@provides("earthly_reach", timeout=30.0)
def earthly_reach(ctx: Context) -> dict[tuple[int, int], Reach]:
    """For each live Earthly listener: can the daemon reach that port on its loopback? {(pid, port): Reach} (ED121)."""
    from concurrent.futures import ThreadPoolExecutor

    from earthly_doctor.probes.reach import daemon_reaches

    procs = ctx.fact("earthly_processes")
    targets = [(p.pid, lst.port) for p in procs for lst in p.listeners if lst.address in ("127.0.0.1", "0.0.0.0")]
    if not targets:
        return {}
    handle = require_daemon(ctx)
    with ThreadPoolExecutor(max_workers=min(4, len(targets))) as pool:
        futures = {t: pool.submit(daemon_reaches, handle.client, t[1], _probe_timeout(ctx)) for t in targets}
        return {t: f.result() for t, f in futures.items()}


@provides("earthly_settings", timeout=4.0)
def earthly_settings(ctx: Context) -> EarthlySettings:
    """Earthly/EarthBuild version (only when a binary is on PATH) and the effective export settings here (ED140)."""
    from earthly_doctor.probes.earthly_settings import evaluate, find_binaries, run_version

    binaries = find_binaries(ctx.env.env)
    version_text, version_error = None, None
    product = "earthbuild" if binaries and binaries[0][0] == "earth" else "earthly"
    if binaries:
        try:
            version_text = run_version(binaries[0][1], ctx.env.env, timeout=min(2.0, _probe_timeout(ctx)))
        except Exception as exc:  # noqa: BLE001 -- a broken or hung binary is a finding, not a crash
            version_error = f"{binaries[0][1]} --version: {type(exc).__name__}: {exc}"
    agent = ctx.try_fact("agent")
    if agent is not None:
        # Beside an agent, Earthly runs with the agent's environment and working directory, not the doctor's; in its
        # PID namespace the agent's first process is pid 1, so its files are under /proc/1/root.
        cwd = ctx.env.proc_root / "1" / "root" / agent.working_dir.lstrip("/") if agent.shares_pid else Path("/")
        settings = evaluate(agent.env, cwd, product=product, version_text=version_text)
        settings.subject = f"agent container {agent.label} (Config.Env)"
    else:
        settings = evaluate(ctx.env.env, ctx.env.cwd, product=product, version_text=version_text)
    settings.binaries = [path for _, path in binaries]
    settings.binary = binaries[0][1] if binaries else None
    settings.version_error = version_error
    # A running Earthly's own flags, variables and working directory say more than ours do.
    for proc in ctx.try_fact("earthly_processes") or []:
        if proc.error or proc.cwd is None:
            continue
        base = {k: v for k, v in ctx.env.env.items() if k in ("HOME", "EARTHLY_CONFIG", "EARTHLY_INSTALLATION_NAME")}
        settings.processes[proc.pid] = evaluate(
            {**base, **proc.settings}, Path(proc.cwd), flags=proc.flags,
            product="earthbuild" if proc.name == "earth" else "earthly", version_text=version_text,
        )
    return settings


@provides("buildkitd", timeout=15.0)
def buildkitd(ctx: Context) -> Buildkitd:
    """The earthly-buildkitd container: running, 127.0.0.1:8371 published, reachable from the daemon (ED131)."""
    from earthly_doctor.probes.buildkitd import inspect_buildkitd

    handle = require_daemon(ctx)
    settings = ctx.try_fact("earthly_settings")
    name = settings.buildkitd_name if settings else "earthly-buildkitd"
    port = settings.registry_port if settings else 8371
    return inspect_buildkitd(handle.client, name, port, _probe_timeout(ctx))


@provides("build_logs", timeout=600.0)
def build_logs(ctx: Context) -> list[Finding]:
    """The build logs given (`diagnose --log`), scanned for known failure signatures: ED160's findings (ED160)."""
    from earthly_doctor.triage.library import triage_findings

    if not ctx.options.logs:
        return []
    return triage_findings(list(ctx.options.logs), list(ctx.options.signature_dirs))


@provides("agent", timeout=10.0)
def agent_container(ctx: Context) -> AgentContainer | None:
    """The agent container the doctor image was started beside (`--network container:<agent>`), or None."""
    from earthly_doctor.probes.agent import beside_agent, find_agent

    if not beside_agent(ctx.env.env):
        return None
    mode = ctx.fact("network_mode")
    if mode is None:
        return None
    return find_agent(require_daemon(ctx).client, mode)
