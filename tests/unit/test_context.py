"""Facts: computed once even when asked concurrently, bounded by their own timeout, failures become FactError."""

from __future__ import annotations

import threading
import time

import pytest

from earthly_doctor.context import Context, FactError, FactTimeout, Options, Provider


def make_ctx(providers: dict, timeout: float = 5.0) -> Context:
    return Context(options=Options(timeout=timeout), providers=providers)


def test_a_fact_is_computed_once_for_concurrent_askers():
    calls = []

    def slow(ctx):
        calls.append(1)
        time.sleep(0.2)
        return 42

    ctx = make_ctx({"x": Provider("x", slow, timeout=2.0)})
    results = []
    threads = [threading.Thread(target=lambda: results.append(ctx.fact("x"))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert results == [42] * 5
    assert len(calls) == 1


def test_a_provider_that_overruns_its_timeout_raises_fact_timeout():
    release = threading.Event()
    ctx = make_ctx({"stuck": Provider("stuck", lambda ctx: release.wait(10), timeout=0.2)})
    began = time.monotonic()
    with pytest.raises(FactTimeout, match="stuck: no answer within 0.2s"):
        ctx.fact("stuck")
    assert time.monotonic() - began < 2.0
    release.set()


def test_the_run_deadline_caps_a_generous_fact_timeout():
    release = threading.Event()
    ctx = make_ctx({"stuck": Provider("stuck", lambda ctx: release.wait(10), timeout=60.0)}, timeout=0.3)
    with pytest.raises(FactTimeout):
        ctx.fact("stuck")
    release.set()


def test_a_provider_bug_becomes_a_fact_error_naming_the_fact():
    def broken(ctx):
        raise KeyError("boom")

    ctx = make_ctx({"b": Provider("b", broken, timeout=1.0)})
    with pytest.raises(FactError, match="b: KeyError"):
        ctx.fact("b")
    assert ctx.try_fact("b", "fallback") == "fallback"


def test_overrides_win_and_an_overridden_exception_is_raised():
    ctx = Context(options=Options(), providers={}, overrides={"a": 1, "e": FactError("nope")})
    assert ctx.fact("a") == 1
    with pytest.raises(FactError, match="nope"):
        ctx.fact("e")
    with pytest.raises(FactError, match="no provider"):
        ctx.fact("missing")


def test_a_fact_cut_short_by_the_run_deadline_blames_the_deadline_not_the_daemon():
    """--timeout 0.1: 'docker: no answer within 0.0s' read as a dead daemon; the run's own deadline cut it short."""
    import threading

    from earthly_doctor.context import Context, FactTimeout, Options, Provider

    release = threading.Event()
    ctx = Context(options=Options(timeout=0.2), providers={"docker": Provider("docker", lambda c: release.wait(5), timeout=30.0)})
    try:
        with pytest.raises(FactTimeout, match=r"docker: not finished by the run's deadline \(0.2s\)"):
            ctx.fact("docker")
    finally:
        release.set()
