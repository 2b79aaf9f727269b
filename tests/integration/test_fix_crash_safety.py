"""A process SIGKILLed while `fix --apply` writes leaves the old file or the new one, never a mix.

Each round starts a real apply (engine plan + backup + atomic replace) on a large .env file, waits until the
child says it is about to write, kills it at a random moment within the measured write time, and checks the file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROUNDS = 25  # the bound; each round is well under a second
CHILD = r"""
import sys, time
from pathlib import Path
from earthly_doctor.model import Confidence, Report, Verdict
from earthly_doctor.remedies import engine
from earthly_doctor.verdict import topology_from
path = Path(sys.argv[1])
report = Report([], Verdict("proxy-unreachable", "", Confidence.LIKELY, ["disable-proxy"]), "0")
remedy = engine.load_remedies().remedies["disable-proxy"]
plan = engine.make_plan(remedy, topology_from(report), [path], path.parent, {})
print("ready", flush=True)
began = time.monotonic()
result = engine.apply_plan(plan)
print(f"done {time.monotonic() - began:.4f} {result.changed}", flush=True)
"""


def _reset(path: Path, data: bytes) -> None:
    for leftover in path.parent.iterdir():
        if leftover != path:
            leftover.unlink()
    path.write_bytes(data)


def _start(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    return proc


@pytest.mark.slow
def test_sigkill_mid_apply_leaves_old_or_new(tmp_path: Path):
    work = tmp_path / "ws"
    work.mkdir()
    path = work / "big.env"
    old = b"".join(b"# padding line %08d so the write takes a while\n" % i for i in range(300_000)) + b"A=1\n"
    new = old + b"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n"

    _reset(path, old)
    proc = _start(path)
    out, _ = proc.communicate(timeout=60)
    assert path.read_bytes() == new, out
    apply_seconds = float(out.split()[1])

    seen = {"old": 0, "new": 0, "torn": 0}
    interrupted_writes = 0
    rng = random.Random(1234)
    for _ in range(ROUNDS):
        _reset(path, old)
        proc = _start(path)
        time.sleep(rng.uniform(0, apply_seconds * 1.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        data = path.read_bytes()
        state = "old" if data == old else "new" if data == new else "torn"
        seen[state] += 1
        backup = work / ("big.env" + ".earthly-doctor.bak")
        if backup.exists():
            assert backup.read_bytes() == old, "the backup is written atomically too"
        leftovers = [p for p in work.iterdir() if p.name.endswith(".tmp")]
        interrupted_writes += bool(leftovers)
        if leftovers:  # the next apply removes what the killed one left, once it is older than a minute
            for leftover in leftovers:
                os.utime(leftover, (time.time() - 120, time.time() - 120))
            _start(path).communicate(timeout=60)
            assert not [p for p in work.iterdir() if p.name.endswith(".tmp")]
    assert seen["torn"] == 0, seen
    assert seen["old"] and seen["new"], f"kills never landed on both sides of the replace: {seen}"
    print(f"rounds={ROUNDS} {seen} interrupted_writes={interrupted_writes} apply={apply_seconds * 1000:.0f}ms")
