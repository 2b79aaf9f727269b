"""Shared by every benchmark: the machine line, timing helpers, and rewriting one section of BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\n"
    "Each section is written by the script it names (`python -m bench.<name>`), with the machine and the command.\n"
    "Figures are wall-clock unless stated; each comparison ran side by side in one run.\n"
)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def compile_sources() -> None:
    """Byte-code for this checkout's modules, as an installed wheel has it: with PYTHONDONTWRITEBYTECODE set (this
    machine sets it) a module edited since its .pyc was written would otherwise be compiled again on every run of a
    contender (about 30 ms for the Jenkins triage's modules), a cost no installed copy pays."""
    import compileall

    for folder in ("diagnose", "checks", "remedies", "bench", "tests/harness"):
        compileall.compile_dir(str(ROOT / folder), quiet=2)


def timed_runs(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return times


def run_cmd(cmd: list[str], env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def stats(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "n": len(times)}


def update_section(name: str, body: str) -> None:
    """Replace (or append) the block between `<!-- bench:NAME -->` markers; other sections stay untouched."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    block = f"<!-- bench:{name} -->\n{body.rstrip()}\n<!-- /bench:{name} -->"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    from earthly_doctor.fsutil import atomic_write_text

    atomic_write_text(BENCHMARKS, text)


def publish(name: str, body: str, *, report: bool) -> None:
    """Print a benchmark's section and, unless told not to, put it in BENCHMARKS.md."""
    print(body)
    if report:
        update_section(name, body)
