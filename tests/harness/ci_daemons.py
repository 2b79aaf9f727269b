"""`python -m tests.harness.ci_daemons start|stop STATE_DIR`: CI's Podman service and rootless dockerd.

.ci/run starts both once for the whole run (the same harness code the session fixtures use) and exports
EARTHLY_DOCTOR_TEST_PODMAN_HOST and EARTHLY_DOCTOR_TEST_ROOTLESS_DOCKER_HOST from STATE_DIR/env; the fixtures then
use them instead of starting their own. `stop` ends both by the pids recorded in STATE_DIR/state.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.harness import podman, rootless


def start(state: Path) -> int:
    state.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    service = podman.start(state / "pm")
    daemon = rootless.start()
    record = {"podman": {"pid": service.process.pid if service.process else None, "root": str(service.root)},
              "rootless": {"pid": daemon.process.pid if daemon.process else None,
                           "paths": [str(p) for p in (daemon.data, daemon.runtime, daemon.log) if p is not None]}}
    (state / "state.json").write_text(json.dumps(record))
    (state / "env").write_text(f"EARTHLY_DOCTOR_TEST_PODMAN_HOST={service.host}\n"
                               f"EARTHLY_DOCTOR_TEST_ROOTLESS_DOCKER_HOST={daemon.host}\n")
    print(f"ci: podman service at {service.host}, rootless dockerd at {daemon.host} "
          f"({time.monotonic() - began:.1f} s)")
    return 0


def _end(pid: int | None) -> None:
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(state: Path) -> int:
    try:
        record = json.loads((state / "state.json").read_text())
    except (OSError, ValueError):
        return 0
    _end(record["podman"]["pid"])
    podman.PodmanService(Path(record["podman"]["root"]), Path(record["podman"]["root"]) / "registries.conf").cleanup()
    _end(record["rootless"]["pid"])
    subprocess.run(["rm", "-rf", *record["rootless"]["paths"]], capture_output=True, timeout=120)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        print("usage: python -m tests.harness.ci_daemons start|stop STATE_DIR", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit((start if sys.argv[1] == "start" else stop)(Path(sys.argv[2])))
