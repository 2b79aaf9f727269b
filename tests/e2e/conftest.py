"""Session fixtures for the daemons that are not dockerd as root: a Podman service and a rootless dockerd.

Both start here (once per session, seconds each) and never skip under CI=true: a CI machine that lost podman or
rootlesskit fails instead of passing by skipping.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from tests.harness import podman as podman_harness
from tests.harness import rootless as rootless_harness


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str | None) -> None:
    if reason:
        if _ci():
            pytest.fail(f"CI=true but the daemon cannot start: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def podman_service() -> Iterator[podman_harness.PodmanService]:
    """A rootful Podman service on a private socket, its storage and registries.conf below a temp folder
    (EARTHLY_DOCTOR_TEST_PODMAN_HOST when .ci/run started one)."""
    given = os.environ.get("EARTHLY_DOCTOR_TEST_PODMAN_HOST")
    if given:
        root = Path(given.split("://", 1)[1]).parent
        yield podman_harness.PodmanService(root, root / "registries.conf")
        return
    unavailable(podman_harness.why_unavailable())
    service = podman_harness.start(Path(tempfile.mkdtemp(prefix="ed-podman-", dir="/tmp")))
    try:
        yield service
    finally:
        service.cleanup()


@pytest.fixture(scope="session")
def rootless_dockerd() -> Iterator[rootless_harness.RootlessDaemon]:
    """A real rootless dockerd (RootlessKit + slirp4netns) as the account `edrootless`; the root steps it needs
    (the account, its subuid/subgid ranges, /dev/net/tun 0666, /run/user/<uid>) are done by the harness
    (EARTHLY_DOCTOR_TEST_ROOTLESS_DOCKER_HOST when .ci/run started one)."""
    given = os.environ.get("EARTHLY_DOCTOR_TEST_ROOTLESS_DOCKER_HOST")
    if given:
        yield rootless_harness.RootlessDaemon(given)
        return
    unavailable(rootless_harness.why_unavailable())
    daemon = rootless_harness.start()
    try:
        yield daemon
    finally:
        daemon.stop()
