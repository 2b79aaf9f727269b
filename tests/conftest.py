"""Shared fixtures: a real Docker daemon for e2e tests, and a terminal pinned to no colour and a fixed width."""

from __future__ import annotations

import os

import pytest

from tests.harness import dockerd as harness


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch):
    """Every test sees NO_COLOR and a fixed width, whatever terminal runs pytest."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.fixture(scope="session")
def docker_daemon(tmp_path_factory):
    """A real dockerd: EARTHLY_DOCTOR_TEST_DOCKER_HOST when set, else a private one started (and stopped) here.

    Without root or docker.io the daemon tests skip with the reason; with CI=true they fail instead, so a CI
    machine that lost its daemon can never pass by skipping.
    """
    given = os.environ.get("EARTHLY_DOCTOR_TEST_DOCKER_HOST")
    if given:
        daemon = harness.Daemon(given)
    else:
        reason = harness.why_unavailable()
        if reason:
            if _ci():
                pytest.fail(f"CI=true but the test daemon cannot start: {reason}")
            pytest.skip(reason)
        daemon = harness.start_daemon(tmp_path_factory.mktemp("dockerd"))
    try:
        if daemon.docker("image", "inspect", harness.IMAGE, check=False).returncode != 0:
            harness.import_image(daemon)
        yield daemon
    finally:
        if not given:
            daemon.stop()
