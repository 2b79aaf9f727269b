"""ED131: earthly-buildkitd on the daemon, 8371 published, reached by the daemon."""

from __future__ import annotations

from earthly_doctor.checks.ed131_buildkitd import BuildkitdRegistry
from earthly_doctor.model import Status
from earthly_doctor.probes.buildkitd import Buildkitd
from earthly_doctor.probes.reach import Reach
from tests.helpers.facts import daemon, make_ctx


def run(bk):
    return BuildkitdRegistry().run(make_ctx(docker=daemon(), buildkitd=bk, earthly_settings=None))


def test_absent_skips():
    assert run(Buildkitd("earthly-buildkitd", 8371)).status == Status.SKIP


def test_running_published_and_reached_allows_pinned_port():
    bk = Buildkitd("earthly-buildkitd", 8371, True, True, "running", "earthly/buildkitd:v0.8.15", ["127.0.0.1:8371"], True,
                   Reach(8371, "reached", "r", "manifest unknown", 2))
    f = run(bk)
    assert f.status == Status.PASS and f.extra["pinned_port_ok"]


def test_not_published_or_refused():
    bk = Buildkitd("earthly-buildkitd", 8371, True, True, "running", "img", [], False)
    assert run(bk).status == Status.WARN
    bk = Buildkitd("earthly-buildkitd", 8371, True, True, "running", "img", ["127.0.0.1:8371"], True,
                   Reach(8371, "refused", "r", "connection refused", 2))
    assert run(bk).status == Status.FAIL
    assert run(Buildkitd("earthly-buildkitd", 8371, True, False, "exited")).status == Status.WARN
