"""Jenkins triage of many builds against the stand-in Jenkins, versus a naive sequential python-jenkins loop.

    python -m bench.jenkins_triage [--builds 200] [--mb 5] [--latency-ms 20] [--repeat 3] [--workers N]
                                   [--also-workers N] [--base REV] [--no-report]

The stand-in (tests/harness/fake_jenkins.py) runs in its own process with `--latency-ms` added to every
request; it generates each build's log on the fly while streaming it (nothing is written to disk). 90 % of the
builds fail with the unreachable-proxy error at the end of the `earthly +image` step, 10 % are green; four agents.
Both contenders run as child processes, alternating, `--repeat` times each; peak RSS comes from wait4().
- ours: `earthly-doctor jenkins triage JOB --last N --workers W --format json` (at most W requests in flight,
  wfapi for the failed stage, head + tail of each failed build's log, streamed consoleText for green builds, the
  full signature set);
- naive: python-jenkins `get_job_info`, then for each build `get_build_console_output` (the whole log as one str)
  and the same `proxy-unreachable` signature regex searched in it.
Memory flatness: ours is also run on a quarter of the builds, and on a few builds with 10x bigger logs.
The checkout's modules are byte-compiled first (`_report.compile_sources`), as an installed copy is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from earthly_doctor.jenkins import WORKERS

from bench._report import ROOT, compile_sources, machine, publish, stats

USER, TOKEN = "bench", "bench-token-0123456789"  # the stand-in's bench user (tests/harness/fake_jenkins.py)
JOB = "bench/earthly"


def naive(url: str, last: int) -> int:
    """The loop a script author would write: whole console text per build, one regex over it."""
    import jenkins

    from earthly_doctor.triage import load_signatures

    regex = next(s for s in load_signatures() if s.id == "proxy-unreachable").regex
    server = jenkins.Jenkins(url, USER, TOKEN, timeout=30)
    server.get_whoami()
    hits = 0
    for build in server.get_job_info(JOB, fetch_all_builds=True)["builds"][:last]:
        text = server.get_build_console_output(JOB, build["number"])
        if regex.search(text):
            hits += 1
    return hits


def run_child(cmd: list[str], env: dict[str, str], timeout: float = 900) -> tuple[float, float, float, bytes]:
    """Wall seconds, CPU seconds, peak RSS in MiB (wait4 on this very child) and stdout; killed after `timeout` s."""
    import threading

    began = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        out = proc.stdout.read() if proc.stdout else b""
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[2:5])}… exited {proc.returncode}")
    return time.perf_counter() - began, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


class Server:
    """The stand-in Jenkins in a child process, stopped by closing its stdin."""

    def __init__(self, builds: int, mb: float, latency_ms: float) -> None:
        cmd = [sys.executable, "-m", "tests.harness.fake_jenkins", "--bench", str(builds), str(mb), str(latency_ms)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        port = self.proc.stdout.readline().strip()
        if not port.isdigit():
            self.stop()
            raise SystemExit(f"the stand-in Jenkins did not start (said {port!r})")
        self.url = f"http://127.0.0.1:{port}/"

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def ours_cmd(last: int, workers: int | None) -> list[str]:
    """The triage command; `workers` None leaves `--workers` at the revision's own default."""
    return [sys.executable, "-m", "earthly_doctor", "jenkins", "triage", JOB, "--last", str(last),
            *(["--workers", str(workers)] if workers is not None else []), "--format", "json", "--exit-zero",
            "--timeout", "900"]


def naive_cmd(url: str, last: int) -> list[str]:
    return [sys.executable, "-m", "bench.jenkins_triage", "--naive", url, str(last)]


def measure(server: Server, last: int, repeat: int, workers: int, *, with_naive: bool = True,
            base: Path | None = None) -> dict:
    """Ours, the naive loop and (with `base`, a link tree of another revision) ours at that revision with its own
    defaults, alternating, `repeat` times each."""
    env = dict(os.environ, JENKINS_URL=server.url, JENKINS_USER=USER, JENKINS_API_TOKEN=TOKEN, NO_COLOR="1")
    env.pop("NETRC", None)
    ours_t, ours_rss, naive_t, naive_rss, hits, cpu = [], [], [], [], {}, {"ours": [], "naive": []}
    base_t: list[float] = []
    base_rss: list[float] = []
    for _ in range(repeat):
        if base is not None:
            seconds, used, rss, out = run_child(ours_cmd(last, None), dict(env, PYTHONPATH=str(base)))
            cpu.setdefault("base", []).append(used)
            base_t.append(seconds)
            base_rss.append(rss)
            hits["base"] = _proxy_builds(json.loads(out))
        seconds, used, rss, out = run_child(ours_cmd(last, workers), env)
        cpu["ours"].append(used)
        report = json.loads(out)
        hits["ours"] = _proxy_builds(report)
        hits["bytes_read"] = report["summary"]["bytes_read"]
        ours_t.append(seconds)
        ours_rss.append(rss)
        if with_naive:
            seconds, used, rss, out = run_child(naive_cmd(server.url, last), dict(env, PYTHONPATH=str(ROOT)))
            cpu["naive"].append(used)
            hits["naive"] = int(out.strip() or -1)
            naive_t.append(seconds)
            naive_rss.append(rss)
    return {"ours": stats(ours_t), "ours_rss": max(ours_rss), "naive": stats(naive_t) if naive_t else None,
            "naive_rss": max(naive_rss) if naive_rss else None, "hits": hits,
            "base": stats(base_t) if base_t else None, "base_rss": max(base_rss) if base_rss else None,
            "cpu": {k: stats(v)["median"] for k, v in cpu.items() if v}}


def _proxy_builds(report: dict) -> int:
    rows = [r for r in report["summary"]["signatures"] if r["signature"] == "proxy-unreachable"]
    return int(rows[0]["failed_builds"]) if rows else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--naive"]:
        print(naive(argv[1], int(argv[2])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=200)
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"ours: requests in flight (default {WORKERS}, "
                        "the tool's own)")
    parser.add_argument("--also-workers", type=int, default=0, metavar="N",
                        help="also time ours with --workers N (no naive runs), on the same stand-in, right after")
    parser.add_argument("--base", metavar="REV", help="also time ours at this revision (its own defaults), "
                        "alternating with the others, as a baseline")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="jenkins-triage-base-") as tmp:
        base_rev, base_path = _base_tree(args.base, Path(tmp)) if args.base else ("", None)
        try:
            return _run(args, began, base_rev, base_path)
        finally:
            if base_rev:
                from bench.compare_revs import unlayout  # not at the top: the naive loop's child imports this module

                unlayout(base_rev, Path(tmp))


def _base_tree(rev: str, into: Path) -> tuple[str, Path]:
    """`rev` laid out as installed (bench.compare_revs.layout) and byte-compiled: its short hash and import path."""
    import compileall

    from bench.compare_revs import layout, short_rev

    short = short_rev(rev)
    path = layout(short, into)
    compileall.compile_dir(str(into), quiet=2)
    return short, path


def _run(args: argparse.Namespace, began: float, base_rev: str, base_path: Path | None) -> int:
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    server = Server(args.builds, args.mb, args.latency_ms)
    try:
        main_run = measure(server, args.builds, args.repeat, args.workers, base=base_path)
        also = measure(server, args.builds, args.repeat, args.also_workers, with_naive=False) if args.also_workers \
            else None
        quarter = measure(server, max(1, args.builds // 4), 1, args.workers, with_naive=False)
    finally:
        server.stop()
    big_builds, big_mb = 10, args.mb * 10
    server = Server(big_builds, big_mb, args.latency_ms)
    try:
        big = measure(server, big_builds, 1, args.workers)
    finally:
        server.stop()

    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    ours, naive_s = main_run["ours"], main_run["naive"]
    ratio = naive_s["median"] / ours["median"]
    failing = args.builds - args.builds // 10
    body = "\n".join([
        f"## Jenkins triage: {args.builds} builds x {args.mb:g} MB logs, {args.latency_ms:g} ms added per request",
        "",
        f"Machine: {machine()}; shared: `uptime` before `{uptime_before}`, after `{uptime_after}`.",
        (f"Command: `python -m bench.jenkins_triage --builds {args.builds} --mb {args.mb:g} --latency-ms "
         f"{args.latency_ms:g} --repeat {args.repeat} --workers {args.workers}"
         + (f" --also-workers {args.also_workers}" if also else "") + (f" --base {args.base}" if base_rev else "")
         + "`"),
        ("Stand-in Jenkins (tests/harness/fake_jenkins.py) in its own process, logs generated while streaming; "
        f"{failing} builds fail with the unreachable-proxy error, {args.builds - failing} are green. Both sides are "
        "child processes, alternating; peak RSS from wait4()."),
        "",
        "| contender | median s | min s | max s | CPU s (median) | peak RSS MiB | proxy hits |",
        "|---|---|---|---|---|---|---|",
        (f"| `earthly-doctor jenkins triage --last {args.builds} --workers {args.workers}` | {ours['median']:.2f} | "
        f"{ours['min']:.2f} | {ours['max']:.2f} | {main_run['cpu']['ours']:.2f} | {main_run['ours_rss']:.1f} | "
        f"{main_run['hits']['ours']} |"),
        *([(f"| `earthly-doctor jenkins triage --last {args.builds} --workers {args.also_workers}` (right after) | "
            f"{also['ours']['median']:.2f} | {also['ours']['min']:.2f} | {also['ours']['max']:.2f} | "
            f"{also['cpu']['ours']:.2f} | {also['ours_rss']:.1f} | {also['hits']['ours']} |")] if also else []),
        *([(f"| the same at `{base_rev}` (`--base {args.base}`, its own defaults) | {main_run['base']['median']:.2f} | "
            f"{main_run['base']['min']:.2f} | {main_run['base']['max']:.2f} | {main_run['cpu']['base']:.2f} | "
            f"{main_run['base_rss']:.1f} | {main_run['hits']['base']} |")] if base_rev else []),
        (f"| naive python-jenkins loop (`get_build_console_output` + regex) | {naive_s['median']:.2f} | "
        f"{naive_s['min']:.2f} | {naive_s['max']:.2f} | {main_run['cpu']['naive']:.2f} | {main_run['naive_rss']:.1f} | "
        f"{main_run['hits']['naive']} |"),
        "",
        (f"Speed-up: **{ratio:.1f}x** (naive median / ours median)"
         + (f"; **{naive_s['median'] / also['ours']['median']:.1f}x** with `--workers {args.also_workers}`"
            if also else "")
         + (f"; {naive_s['median'] / main_run['base']['median']:.1f}x at `{base_rev}`, alternating in the same run"
            if base_rev else "") + ". Ours read "
        f"{main_run['hits']['bytes_read'] / 1e6:,.0f} MB of log (head + tail of each failed build's log, whole log of "
        f"each green build); the naive loop read {args.builds * args.mb:,.0f} MB. Both share the 2 cores with the "
        "stand-in (and with whatever else runs on the machine), so the CPU column says how much of the wall time "
        "is work rather than waiting on the injected latency."),
        "",
        "Memory stays flat (ours, peak RSS MiB):",
        "",
        "| run | ours | naive |",
        "|---|---|---|",
        f"| {max(1, args.builds // 4)} builds x {args.mb:g} MB | {quarter['ours_rss']:.1f} | - |",
        f"| {args.builds} builds x {args.mb:g} MB | {main_run['ours_rss']:.1f} | {main_run['naive_rss']:.1f} |",
        (f"| {big_builds} builds x {big_mb:g} MB (1 green: streamed whole) | {big['ours_rss']:.1f} | "
        f"{big['naive_rss']:.1f} |"),
        "",
        f"(bench wall time {time.perf_counter() - began:.0f} s)",
    ])
    publish("jenkins_triage", body, report=not args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
