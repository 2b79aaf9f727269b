"""The runner: concurrency, crash isolation, the whole-run deadline."""

from __future__ import annotations

import threading

from earthly_doctor.check import Check, CheckDoc
from earthly_doctor.context import Context, Options
from earthly_doctor.model import Status
from earthly_doctor.runner import run_checks

DOC = CheckDoc("what", "why", "example", "fix")


def make_check(code: str, fn):
    return type(f"C{code}", (Check,), {"code": code, "title": f"check {code}", "category": "test", "doc": DOC, "run": fn})()


def ctx(timeout: float = 5.0) -> Context:
    return Context(options=Options(timeout=timeout), providers={})


def test_checks_run_concurrently():
    barrier = threading.Barrier(3, timeout=3)

    def meet(self, ctx):
        barrier.wait()  # breaks (BrokenBarrierError → error finding) unless all three run at once
        return self.passed("met")

    findings = run_checks(ctx(), [make_check(f"T{i}", meet) for i in range(3)])
    assert [f.status for f in findings] == [Status.PASS] * 3


def test_a_crashing_check_becomes_an_error_finding_with_the_traceback_kept_for_verbose():
    def crash(self, ctx):
        raise ZeroDivisionError("oops")

    def fine(self, ctx):
        return self.passed("fine")

    crashed, ok = run_checks(ctx(), [make_check("T1", crash), make_check("T2", fine)])
    assert crashed.status == Status.ERROR
    assert "ZeroDivisionError: oops" in crashed.summary
    assert "Traceback" in crashed.detail
    assert ok.status == Status.PASS


def test_a_check_past_the_deadline_is_reported_as_timed_out():
    release = threading.Event()

    def hang(self, ctx):
        release.wait(10)
        return self.passed("late")

    (finding,) = run_checks(ctx(timeout=0.3), [make_check("T1", hang)])
    release.set()
    assert finding.status == Status.ERROR
    assert "deadline" in finding.summary
    assert finding.fact("timed_out") is True


def test_a_check_returning_garbage_is_an_error():
    (finding,) = run_checks(ctx(), [make_check("T1", lambda self, ctx: "not a finding")])
    assert finding.status == Status.ERROR
    assert "not a Finding" in finding.summary
