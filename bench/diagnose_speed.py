"""How fast `earthly-doctor` answers: `--version`, a healthy `diagnose` against a real dockerd, and `diagnose` against
a daemon that accepts and never answers. Run as `python -m bench.diagnose_speed [--repeat N]`.

Uses EARTHLY_DOCTOR_TEST_DOCKER_HOST when set; otherwise starts a private dockerd (tests/harness) inside a network
namespace of its own (so its `--bridge none` cannot touch anyone's docker0) and runs the doctor in that namespace,
where the daemon shares its loopback: the healthy case. Everything it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from tests.harness.silent_socket import SilentSocket
from bench._report import machine, run_cmd, stats, timed_runs, update_section

TARGETS = {"version": 0.25, "healthy": 1.0}
HUNG_TIMEOUT = 2.0  # --timeout for the hung case; the target is this + 1 s


@contextlib.contextmanager
def healthy_daemon() -> Iterator[tuple[str, list[str], str]]:
    """(docker host URL, command prefix that puts the doctor beside the daemon, description)."""
    given = os.environ.get("EARTHLY_DOCTOR_TEST_DOCKER_HOST")
    if given:
        yield given, [], f"the test daemon at {given} (EARTHLY_DOCTOR_TEST_DOCKER_HOST)"
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.harness import netns as nsh

    reason = nsh.why_unavailable()
    if reason:
        raise SystemExit(f"no daemon: set EARTHLY_DOCTOR_TEST_DOCKER_HOST or run as root ({reason})")
    with nsh.netns(os.getpid() % 200 + 20) as ns, nsh.daemon_in_netns(ns) as daemon:
        yield daemon.host, ["nsenter", f"--net={ns.path}"], "a private dockerd 20.10 (vfs) in its own network namespace"


def row(name: str, cmd: list[str], times: list[float], target: float | None) -> str:
    s = stats(times)
    verdict = "" if target is None else ("meets" if s["median"] <= target else "MISSES") + f" ≤ {target:g} s"
    return (f"| {name} | `{' '.join(cmd)}` | {s['n']} | {s['median']:.3f} | {s['min']:.3f} | {s['max']:.3f} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print the section, do not touch BENCHMARKS.md")
    args = parser.parse_args()
    env = {**os.environ, "NO_COLOR": "1"}
    for key in ("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY", "DOCKER_HOST"):
        env.pop(key, None)
    exe = [sys.executable, "-m", "earthly_doctor"]
    rows = []

    # Baselines, measured in the same run: the interpreter's own start-up is the floor under every Python CLI.
    floor = [sys.executable, "-c", "pass"]
    rows.append(row("baseline: python start-up", ["python3", "-c", "pass"], timed_runs(lambda: run_cmd(floor, env), args.repeat), None))

    version = [*exe, "--version"]
    run_cmd(version, env)  # warm the page cache once
    rows.append(row("--version", ["earthly-doctor", "--version"], timed_runs(lambda: run_cmd(version, env), args.repeat),
                    TARGETS["version"]))

    with healthy_daemon() as (host, prefix, where):
        healthy = [*prefix, *exe, "diagnose", "--docker-host", host]
        first = run_cmd(healthy, env)
        if "Verdict: healthy" not in first.stdout:
            raise SystemExit(f"the healthy case is not healthy:\n{first.stdout}{first.stderr}")
        times = timed_runs(lambda: run_cmd(healthy, env), args.repeat)
        rows.append(row("diagnose, healthy", ["earthly-doctor", "diagnose", "--docker-host", "<daemon>"], times, TARGETS["healthy"]))
        # Baseline: what a person types to see whether the daemon is fine (it proves nothing about loopback).
        info = [*prefix, "docker", "-H", host, "info"]
        times = timed_runs(lambda: run_cmd(info, env), args.repeat)
        rows.append(row("baseline: docker info", ["docker", "-H", "<daemon>", "info"], times, None))

    with tempfile.TemporaryDirectory(prefix="ed-bench-") as tmp:
        silent = SilentSocket(f"{tmp}/docker.sock")
        try:
            hung = [*exe, "diagnose", "--docker-host", f"unix://{silent.path}", "--timeout", str(HUNG_TIMEOUT)]
            times = timed_runs(lambda: run_cmd(hung, env), max(3, args.repeat // 3))
        finally:
            silent.close()
        rows.append(row("diagnose, daemon never answers", ["earthly-doctor", "diagnose", "--docker-host", "<silent socket>",
                                                           "--timeout", f"{HUNG_TIMEOUT:g}"], times, HUNG_TIMEOUT + 1.0))

    body = "\n".join([
        "## diagnose speed (`python -m bench.diagnose_speed`)",
        "",
        (f"Machine: {machine()}. Load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(the machine is shared; other work may have run meanwhile)."),
        f"Healthy daemon: {where}. Wall clock of the whole process, interpreter start-up included; seconds.",
        "",
        "| case | command | runs | median | min | max | target |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])
    print(body)
    if not args.no_write:
        update_section("diagnose_speed", body)


if __name__ == "__main__":
    main()
