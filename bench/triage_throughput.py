"""Log triage throughput on a generated 1 GB Jenkins log, against `LC_ALL=C grep -E -c` with the same anchors.

    python -m bench.triage_throughput [--size-mb 1024] [--repeat 3] [--no-report]

The log (bench/data/, gitignored, generated once and reused) looks like a Timestamper-prefixed Pipeline
consoleText: ConsoleNotes before `[Pipeline]` lines, Earthly output with target prefixes, ANSI colour,
carriage-return progress redraws, unrelated `connection refused` noise, and the unreachable-proxy failure
near the end. Both tools read the same (page-cached) file in one run, alternating, `--repeat` times each.
The triage side is the real CLI (`python -m earthly_doctor triage FILE --format json`), so its figure includes
interpreter start-up; its peak RSS comes from wait4() on that process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._report import ROOT, machine, stats, update_section

DATA = ROOT / "bench" / "data"
TARGET_RATIO = 0.5
TARGET_RSS_MB = 64
TIME = "/usr/bin/time"

_WORDS = ["layer", "sha256", "resolve", "cache", "hit", "miss", "copy", "run", "compile", "test", "passed", "ok", "done", "fetch", "npm", "ci", "install", "go", "build", "mod", "download", "verify", "module", "package", "artifact", "image", "export", "load", "step", "target", "context", "local", "remote", "digest", "manifest", "warning", "deprecated", "retry", "timeout", "gradle", "maven", "junit", "report", "coverage", "lint", "format", "check", "upload", "bucket"]
_TARGETS = ("+build", "+test", "+lint", "+image", "+deps", "./services/api+docker", "github.com/acme/base+go")


def _note(rng: random.Random) -> str:
    body = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(120))
    return f"\x1b[8mha:////4{body}=\x1b[0m"


def _block(rng: random.Random, index: int, size: int) -> bytes:
    """About `size` bytes of build output inside one stage, with the usual noise."""
    stage = f"Build {index % 17}"
    out = [f"{_note(rng)}[Pipeline] stage", f"{_note(rng)}[Pipeline] {{ ({stage})", f"{_note(rng)}[Pipeline] sh",
           f"+ earthly --ci --output {rng.choice(_TARGETS)}"]
    total = 0
    second = 0
    while total < size:
        second += 1
        target = rng.choice(_TARGETS)
        kind = rng.random()
        if kind < 0.80:
            text = f"{target:>20} | " + " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 18)))
        elif kind < 0.90:
            text = f"{target:>20} | \x1b[32m--> RUN\x1b[0m " + " ".join(rng.choice(_WORDS) for _ in range(6))
        elif kind < 0.97:
            text = "\r".join(f"{'output':>20} | [{'=' * k:<10}] {k * 10}% exporting outputs\x1b[K" for k in range(1, 11))
        elif kind < 0.999:
            text = f"    at org.acme.{rng.choice(_WORDS)}.Service.call(Service.java:{rng.randint(1, 999)})"
        else:
            text = f"{'+test':>20} | dial tcp 10.0.{rng.randint(0, 255)}.5:5432: connect: connection refused"
        stamp = f"[2024-01-22T{(index // 60) % 24:02d}:{index % 60:02d}:{second % 60:02d}.{rng.randint(0, 999):03d}Z] "
        line = stamp + text + "\n"
        out.append(line.rstrip("\n"))
        total += len(line)
    out += [f"{_note(rng)}[Pipeline] }}", f"{_note(rng)}[Pipeline] // stage"]
    return ("\n".join(out) + "\n").encode()


_FAILURE = (
    "[2024-01-22T23:20:34.964Z]               output | --> exporting outputs\n"
    "[2024-01-22T23:20:47.159Z]               output | [----------] 100% exporting outputs[K\n"
    "[2024-01-22T23:20:55.244Z] Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
    "[2024-01-22T23:20:55.244Z] \t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: "
    'exit status 1: Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection refused: exit status 1\n'
)


def generate(path: Path, size_mb: int, *, distinct: int = 64, block_size: int = 1 << 20) -> None:
    """Write the log once: `distinct` different blocks of about `block_size` bytes, cycled, then the failure and
    the end of the pipeline."""
    rng = random.Random(3736)
    blocks = [_block(rng, i, block_size) for i in range(distinct)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    head = "[2024-01-22T22:00:00.000Z] Started by user admin\n[2024-01-22T22:00:00.001Z] [Pipeline] Start of Pipeline\n"
    head += "[2024-01-22T22:00:00.002Z] [Pipeline] node\n[2024-01-22T22:00:00.003Z] Running on agent-7 in /home/jenkins/workspace/app\n"
    head += "[2024-01-22T22:00:00.004Z] [Pipeline] {\n"
    with open(tmp, "wb") as f:
        f.write(head.encode())
        written, i = 0, 0
        while written < size_mb << 20:
            block = blocks[i % len(blocks)]
            f.write(block)
            written += len(block)
            i += 1
        f.write(b"[2024-01-22T23:20:30.000Z] \x1b[8mha:////4AAAA=\x1b[0m[Pipeline] stage\n")
        f.write(b"[2024-01-22T23:20:30.001Z] \x1b[8mha:////4AAAA=\x1b[0m[Pipeline] { (Image)\n")
        f.write(_FAILURE.encode())
        f.write(b"[2024-01-22T23:20:55.300Z] [Pipeline] }\n[2024-01-22T23:20:55.301Z] [Pipeline] // stage\n")
        f.write(b"[2024-01-22T23:20:55.302Z] [Pipeline] }\n[2024-01-22T23:20:55.303Z] [Pipeline] // node\n")
        f.write(b"[2024-01-22T23:20:55.304Z] [Pipeline] End of Pipeline\n[2024-01-22T23:20:55.305Z] ERROR: script returned exit code 1\n")
        f.write(b"[2024-01-22T23:20:55.306Z] Finished: FAILURE\n")
    tmp.replace(path)


def ere(anchors: list[str]) -> str:
    return "|".join(re.sub(r"([][.\\*+?(){}|^$])", r"\\\1", a) for a in anchors)


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, bytes]:
    """Wall time, CPU time (user+sys), peak RSS in MiB, and stdout. RSS comes from GNU time, which forks from its
    own small image: wait4() on a child of this (large) process would count the pages the fork shares with us."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        began = time.perf_counter()
        proc = subprocess.run([TIME, "-f", "%U %S %M", "-o", rss.name, *cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=env, timeout=600, check=False)
        elapsed = time.perf_counter() - began
        user, system, kib = (rss.read().strip().splitlines() or ["0 0 0"])[-1].split()
    return elapsed, float(user) + float(system), int(kib) / 1024, proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args(argv)

    path = DATA / f"jenkins-{args.size_mb}mb.log"
    if not path.exists():
        print(f"generating {path} …", file=sys.stderr)
        generate(path, args.size_mb)
    size = path.stat().st_size

    from earthly_doctor.triage import Scanner

    anchors = sorted(a.decode() for a in Scanner()._anchors)  # noqa: SLF001 -- no public API for this
    grep_cmd = ["grep", "-E", "-c", ere(anchors), str(path)]
    triage_cmd = [sys.executable, "-m", "earthly_doctor", "triage", str(path), "--format", "json", "--exit-zero"]
    env = {**os.environ, "LC_ALL": "C"}
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # page cache warm for both

    grep_times, triage_times, grep_cpu, triage_cpu, rss = [], [], [], [], []
    verdict = None
    for _ in range(args.repeat):
        t, cpu, _, out = run_measured(grep_cmd, env)
        grep_times.append(t)
        grep_cpu.append(cpu)
        grep_count = out.decode().strip()
        t, cpu, peak, out = run_measured(triage_cmd)
        triage_times.append(t)
        triage_cpu.append(cpu)
        rss.append(peak)
        verdict = json.loads(out)["verdict"]["cause"]
    g, tr = stats(grep_times), stats(triage_times)
    ratio = g["median"] / tr["median"]
    cpu_ratio = stats(grep_cpu)["median"] / stats(triage_cpu)["median"]
    load = os.getloadavg()[0]
    mb = size / 2**20
    ok = ratio >= TARGET_RATIO and max(rss) <= TARGET_RSS_MB and verdict == "proxy-unreachable"
    body = "\n".join([
        "## Log triage throughput (`python -m bench.triage_throughput`)",
        "",
        f"Machine: {machine()}",
        f"Input: generated Jenkins log, {mb:,.0f} MiB ({path.relative_to(ROOT)}), failure near the end; page-cached.",
        f"Anchors ({len(anchors)}): {', '.join(f'`{a}`' for a in anchors)}",
        (f"Commands: `python {' '.join(triage_cmd[1:4])} LOG --format json` vs `LC_ALL=C grep -E -c '<anchors>' LOG`, "
        f"alternating, {args.repeat} runs each."),
        "",
        "| tool | median s | min s | max s | MiB/s (median) | peak RSS MiB |",
        "|---|---|---|---|---|---|",
        f"| earthly-doctor triage | {tr['median']:.2f} | {tr['min']:.2f} | {tr['max']:.2f} | {mb / tr['median']:,.0f} | {max(rss):.1f} |",
        f"| grep -E -c | {g['median']:.2f} | {g['min']:.2f} | {g['max']:.2f} | {mb / g['median']:,.0f} | - |",
        "",
        (f"CPU seconds (user+sys, median): triage {stats(triage_cpu)['median']:.2f}, grep {stats(grep_cpu)['median']:.2f} "
        f"(ratio {cpu_ratio:.2f}x); 1-minute load average at the end {load:.1f} on {os.cpu_count()} cores (shared machine)."),
        "",
        (f"Throughput ratio triage/grep (wall, medians): **{ratio:.2f}x** (target >= {TARGET_RATIO}x); peak RSS {max(rss):.1f} MiB "
        f"(target <= {TARGET_RSS_MB} MiB); verdict `{verdict}`; grep counted {grep_count} anchor lines. "
        f"{'Target met.' if ok else 'Target NOT met.'}"),
    ])
    print(body)
    if not args.no_report:
        update_section("triage_throughput", body)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
