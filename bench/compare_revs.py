"""Triage at two revisions of this repository, side by side in one run, with grep as the yardstick.

    python -m bench.compare_revs --base REV [--head REV] [--shapes jenkins-300,refused-300] [--repeat 5]
                                 [--no-report]

The machine this project is measured on is shared and its speed drifts (the same code and the same grep took
15-25 % longer at one hour than at another in one session), so a figure from another run is no baseline. This
bench checks out each revision into a temporary worktree, lays out its package as it installs (`diagnose/` as
`earthly_doctor`, `checks/` and `remedies/` inside it, as .ci/lint does), and runs
`python -m earthly_doctor triage LOG --format json --exit-zero > FILE` from each, alternating with grep, so all
three see the same machine. The interpreter and the installed dependencies are this process's for both.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import log_shapes
from bench._report import ROOT, machine, publish
from bench.triage_throughput import GREP_ANCHORS, ere


def layout(rev: str, into: Path) -> Path:
    """A worktree of `rev` under `into` and a link tree importing it as `earthly_doctor`; the link tree's path."""
    tree = into / f"src-{rev[:12]}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), rev], check=True)
    package = into / f"path-{rev[:12]}" / "earthly_doctor"
    package.mkdir(parents=True)
    for entry in (tree / "diagnose").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "checks").symlink_to(tree / "checks")
    (package / "remedies").symlink_to(tree / "remedies")
    return package.parent


def unlayout(rev: str, into: Path) -> None:
    """The worktree `layout` added for `rev` under `into`, removed from the repository's list (best effort)."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(into / f"src-{rev[:12]}")],
                   check=False)


def short_rev(rev: str) -> str:
    """`rev` (a commit, tag or branch) as a 12-digit commit hash."""
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", rev], capture_output=True, text=True,
                          check=True).stdout.strip()


def timed(cmd: list[str], out: Path, env: dict[str, str]) -> float:
    """Wall seconds of `cmd` with its output to a file (GNU grep stops at the first match when it is /dev/null)."""
    began = time.perf_counter()
    with open(out, "wb") as sink:
        subprocess.run(cmd, stdout=sink, stderr=subprocess.DEVNULL, env=env, check=True, timeout=600)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the revision to compare against (a commit, tag or branch)")
    parser.add_argument("--head", default="HEAD")
    parser.add_argument("--shapes", default="jenkins-300,refused-300,plain-300",
                        help="SHAPE-MiB pairs from bench/log_shapes.py, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args(argv)
    revs = {"base": short_rev(args.base), "head": short_rev(args.head)}
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory(prefix="compare-revs-") as tmp:
        work = Path(tmp)
        paths = {name: layout(rev, work) for name, rev in revs.items()}
        try:
            for item in args.shapes.split(","):
                shape, size = item.rsplit("-", 1)
                log = log_shapes.generate(shape, int(size))
                times: dict[str, list[float]] = {"grep": [], "base": [], "head": []}
                grep = ["grep", "-E", "-c", ere(GREP_ANCHORS), str(log)]
                for _ in range(args.repeat):
                    times["grep"].append(timed(grep, work / "grep.out", {"LC_ALL": "C", "PATH": "/usr/bin:/bin"}))
                    for name, path in paths.items():
                        env = {"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
                        cmd = [sys.executable, "-m", "earthly_doctor", "triage", str(log), "--format", "json",
                               "--exit-zero"]
                        times[name].append(timed(cmd, work / f"{name}.json", env=env))
                medians = {k: statistics.median(v) for k, v in times.items()}
                rows.append((item, medians))
                print(f"{item}: grep {medians['grep']:.2f}s base {medians['base']:.2f}s head {medians['head']:.2f}s",
                      file=sys.stderr)
        finally:
            for rev in revs.values():
                unlayout(rev, work)
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    lines = [
        f"## Triage at two revisions (`python -m bench.compare_revs --base {args.base}`)",
        "",
        f"Machine: {machine()}; `uptime` before: `{uptime_before}`; after: `{uptime_after}`.",
        (f"Command: `python -m bench.compare_revs --base {args.base} --head {args.head} --shapes {args.shapes} "
         f"--repeat {args.repeat}`. base = `{revs['base']}`, head = `{revs['head']}`; each is "
         "`python -m earthly_doctor triage LOG --format json --exit-zero > FILE` from a worktree of that revision, "
         "alternating with grep (issue 14's six anchors), medians, page cache warm."),
        "",
        "| log | grep s | base s | head s | head / base | grep / head |",
        "|---|---|---|---|---|---|",
    ]
    for item, m in rows:
        lines.append(f"| {item} MiB | {m['grep']:.2f} | {m['base']:.2f} | {m['head']:.2f} | "
                     f"{m['head'] / m['base']:.2f} | **{m['grep'] / m['head']:.2f}x** |")
    body = "\n".join(lines)
    publish("compare_revs", body, report=not args.no_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
