"""Reproduce the failure for real, then watch earthly-doctor prove it and route around it.

Needs root and Debian's `docker.io` + `busybox-static` (the same as the e2e tests). Starts a private dockerd (or uses
`--docker-host`), then, in containers that mount the daemon's socket like a Jenkins docker agent does:
  1. the stand-in `earthly` (tests/harness/fake_earthly.py; Earthly itself cannot be installed here) on the bridge
     network: SAVE IMAGE fails with `dial tcp 127.0.0.1:<port>: connect: connection refused`;
  2. `earthly-doctor diagnose` in the same place: the verdict, proven by the canary;
  3. `earthly-doctor run -- earthly +img` in the same place: the build succeeds, with one line saying why;
  4. the bare build again with `--network host`: succeeds, since the container now shares the daemon's loopback.
Run from the repository root: `python -m examples.reproduce.reproduce [--docker-host unix:///path/docker.sock]`.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.harness import dockerd as harness


@contextlib.contextmanager
def daemon(host: str | None) -> Iterator[harness.Daemon]:
    if host:
        yield harness.Daemon(host)
        return
    reason = harness.why_unavailable()
    if reason:
        raise SystemExit(f"reproduce: cannot start a private dockerd: {reason}")
    with tempfile.TemporaryDirectory(prefix="ed-repro-") as tmp:
        d = harness.start_daemon(Path(tmp) / "dockerd")
        try:
            yield d
        finally:
            d.stop()


def step(title: str, result: subprocess.CompletedProcess[bytes], expect_ok: bool) -> bool:
    out = (result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")).rstrip()
    ok = (result.returncode == 0) == expect_ok
    print(f"\n=== {title}: exit {result.returncode} ({'as expected' if ok else 'NOT as expected'})")
    print("\n".join("    " + line for line in out.splitlines()))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker-host", help="use this daemon instead of starting a private one")
    args = parser.parse_args(argv)
    with daemon(args.docker_host) as d, tempfile.TemporaryDirectory(prefix="ed-repro-bin-") as bin_dir:
        if d.docker("image", "inspect", harness.IMAGE, check=False).returncode != 0:
            harness.import_image(d)
        earthly = harness.install_fake_earthly(Path(bin_dir))
        Path(bin_dir).chmod(0o755)
        mount = ["-v", f"{bin_dir}:{bin_dir}:ro"]
        path_env = {"PATH": f"{bin_dir}:{harness.container_path()}"}
        results = [
            step("1. earthly +img in a bridge container (the Jenkins docker agent)",
                 harness.run_python_container(d, [str(earthly), "+img"], extra=mount), expect_ok=False),
            step("2. earthly-doctor diagnose, same container shape",
                 harness.run_python_container(d, ["-m", "earthly_doctor", "diagnose"], extra=mount), expect_ok=False),
            step("3. earthly-doctor run -- earthly +img, same container shape",
                 harness.run_python_container(d, ["-m", "earthly_doctor", "run", "--", "earthly", "+img"], extra=mount,
                                              env=path_env), expect_ok=True),
            step("4. earthly +img with --network host",
                 harness.run_python_container(d, [str(earthly), "+img"], extra=mount, network="host"), expect_ok=True),
        ]
    print("\nreproduced: the failure, its proof and both ways out" if all(results) else "\nsomething did not behave as expected")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
