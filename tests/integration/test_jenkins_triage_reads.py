"""What `jenkins triage --last N` asks Jenkins for, and that reading less never changes what it reports.

Against the stand-in Jenkins (tests/harness/fake_jenkins.py; no Jenkins can run here): its progressiveText gives
`X-Text-Size` before the body and serves from byte `start` (research/jenkins.md §1.6), it answers requests
concurrently on kept-alive connections, and it records every request and when it arrived. The oracle for "what a
build's log holds" is the same signature set run over the build's whole console text, read from the stand-in's
own data rather than through the client under test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator
from typing import ClassVar

import pytest

from earthly_doctor.jenkins.client import Credentials, JenkinsClient, JenkinsError
from earthly_doctor.jenkins.logs import HEAD, TAIL
from earthly_doctor.jenkins.scan import Scanning, is_hit
from earthly_doctor.model import Confidence, Evidence, Finding, Report, Severity, Status, Verdict
from earthly_doctor.sanitize import sanitize_report
from tests.harness.fake_jenkins import AFTER_HEADERS, Build, FakeJenkins, Log, Stage, Step, filler, pipeline_build
from tests.integration import test_jenkins_triage as triage_tests
from tests.integration.test_jenkins_triage import TOKEN, login, run

env = triage_tests.env  # the same fixture: no credentials but the ones a test sets, an empty HOME

BIG = 600_000  # a log longer than HEAD + TAIL: read as head + tail


def mixed_job(server: FakeJenkins, name: str = "mix") -> dict[int, Build]:
    """Failing and green builds interleaved: a green one that hit the proxy error and retried (a red herring), a
    small failing log (one read), a CRLF one, and one whose failure a later parallel branch buried mid-log."""
    job = server.job(name)
    buried = pipeline_build(6, fail=True, size=150_000, node="agent-2")
    buried.stages.append(Stage("Docs", [Step("sh", filler(700_000), script="make docs")]))
    builds = [
        pipeline_build(1, fail=True, size=BIG, node="agent-1"),
        pipeline_build(2, fail=False, size=BIG, herring_retry=True, node="agent-2"),
        pipeline_build(3, fail=True, size=2_000, node="agent-1", version="v0.8.16"),
        pipeline_build(4, fail=False, size=BIG, node="agent-1"),
        pipeline_build(5, fail=True, size=BIG, eol=b"\r\n", node="agent-2"),
        buried,
    ]
    for build in builds:
        job.add(build)
    server.node("agent-1", ["linux"])
    server.node("agent-2", ["linux", "arm64"])
    return {b.number: b for b in builds}


def whole_log_hits(build: Build) -> set[str]:
    """The oracle: every hit signature in the build's whole console text, scanned in one piece."""
    scanner = Scanning()()
    scanner.feed(b"".join(build.log().iter(raw=False)))
    scanner.finish()
    return {m.signature.id for m in scanner.matches if is_hit(m)}


def triage(capsys, *args: str) -> dict:
    code, out, err = run(capsys, *args, "--format", "json")
    assert code in (0, 1), err
    return json.loads(out)


def per_build(report: dict) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for finding in report["findings"]:
        if finding.get("signature"):
            found[finding["build"]].add(finding["signature"])
    return found


def stable(report: dict) -> dict:
    """The report without what differs between two runs of the same reads (timings)."""
    report = json.loads(json.dumps(report))
    report.pop("duration_ms", None)
    return report


# ------------------------------------------------------------------------------------------------ requests


def test_requests_per_build_stages_head_and_tail_or_the_whole_green_log(env, capsys):
    with FakeJenkins({"alice": TOKEN}) as server:
        builds = mixed_job(server)
        login(env, server)
        triage(capsys, "mix", "--last", "5", "--workers", "3")  # builds 6..2
        asked: dict[int, list[str]] = defaultdict(list)
        for _, path, _ in server.requests:
            match = re.match(r"/job/mix/(\d+)/(.*)", path)
            if match:
                asked[int(match.group(1))].append(match.group(2))
    for number in (5,):  # a failed build with a long log: stages, the head, the tail from X-Text-Size - TAIL
        size = builds[number].log().size()
        assert sorted(asked[number]) == sorted(["wfapi/describe", "logText/progressiveText?start=0",
                                                f"logText/progressiveText?start={size - TAIL}"])
    assert sorted(asked[3]) == ["logText/progressiveText?start=0", "wfapi/describe"]  # short: one read is all
    assert asked[2] == ["consoleText"] and asked[4] == ["consoleText"]  # green: the whole log, nothing else
    # The buried failure: stages, head + tail of the build log, then the failed step's own log.
    assert "execution/node/5/wfapi/describe" in asked[6]
    assert any(p.startswith("execution/node/6/log/logText/progressiveText") for p in asked[6])
    assert "consoleText" not in asked[6]
    assert not any(p.startswith("api/json") for paths in asked.values() for p in paths)  # one allBuilds list


def test_the_stages_request_goes_out_beside_the_head_not_after_it(env, capsys):
    with FakeJenkins({"alice": TOKEN}) as server:
        server.job("slow").add(pipeline_build(1, fail=True, size=BIG))
        server.slow[r"/wfapi/describe$"] = 1.0
        login(env, server)
        report = triage(capsys, "slow", "1")
        arrived = {path.split("/1/", 1)[1]: at for at, path in server.arrivals if path.startswith("/job/slow/1/")}
    # Read one after the other, the head would come only after the stages' answer, a second later.
    assert abs(arrived["logText/progressiveText?start=0"] - arrived["wfapi/describe"]) < 0.5
    (finding,) = [f for f in report["findings"] if f["status"] == "fail"]
    assert finding["stage"] == "Image" and finding["node"] == "agent-1"  # the late answer was still used


# ------------------------------------------------------------------------------------------------ same findings


def test_findings_match_a_whole_log_scan_of_every_build_failed_and_green(env, capsys):
    with FakeJenkins({"alice": TOKEN}) as server:
        builds = mixed_job(server)
        login(env, server)
        report = triage(capsys, "mix", "--last", "6")
    found = per_build(report)
    for number, build in builds.items():
        assert found.get(number, set()) == whole_log_hits(build), number
    # The proxy error of green #2 makes it a red herring for every failed build; nothing else is blamed.
    (row,) = [r for r in report["summary"]["signatures"] if r["signature"] == "proxy-unreachable"]
    assert row["red_herring"] and row["green_builds"] == 1 and row["failed_builds"] == 4
    assert report["verdict"]["cause"] == "no-known-failure"
    by_build = {f["build"]: f for f in report["findings"] if f.get("signature") == "proxy-unreachable"}
    assert by_build[6]["stage"] == "Image" and by_build[6]["node"] == "agent-2"
    assert by_build[3]["earthly_version"] == "v0.8.16" and by_build[1]["earthly_version"] == "v0.8.15"
    assert by_build[5]["log"].startswith("mix #5 build log (tail from byte")


def test_failing_then_green_without_the_herring_blames_the_failures(env, capsys):
    with FakeJenkins({"alice": TOKEN}) as server:
        job = server.job("recovering")
        for n in range(1, 5):
            job.add(pipeline_build(n, fail=n < 4, size=BIG))
        login(env, server)
        report = triage(capsys, "recovering", "--last", "4")
    (row,) = report["summary"]["signatures"]
    assert not row["red_herring"] and row["failed_builds"] == 3 and row["build_numbers"] == [1, 2, 3]
    assert report["verdict"]["cause"] == "proxy-unreachable"
    assert not [f for f in report["findings"] if f["build"] == 4]  # a clean green build is no finding


def test_the_same_report_whatever_the_chunking_and_the_number_of_workers(env, capsys):
    """gzip changes every chunk boundary the client sees; one worker against six changes the order of reads."""
    reports = []
    for gzip, workers in ((False, "1"), (True, "6")):
        with FakeJenkins({"alice": TOKEN}, gzip=gzip) as server:
            mixed_job(server)
            login(env, server)
            reports.append(stable(triage(capsys, "mix", "--last", "6", "--workers", workers)))
    plain, packed = reports
    for report in reports:  # the server's URL (its port) is the one thing that differs
        report["jenkins"].pop("url")
        for finding in report["findings"]:
            finding.pop("url", None)
            for item in finding.get("evidence", []):
                if item["fact"] == "build_url":
                    item["value"] = ""
        for row in report["summary"]["signatures"]:
            for key in ("first_seen", "last_seen"):
                row[key].pop("url", None)
    assert plain == packed
    # The head is cut at the same line end every time, so even the byte count is the same.
    assert plain["summary"]["bytes_read"] == packed["summary"]["bytes_read"]


# ------------------------------------------------------------------------------------------------ resources


def test_memory_stays_flat_while_big_logs_stream(env, capsys):
    with FakeJenkins({"alice": TOKEN}) as server:
        job = server.job("big")
        job.add(pipeline_build(1, fail=True, size=12_000_000))
        job.add(pipeline_build(2, fail=False, size=12_000_000))  # green: streamed whole
        login(env, server)
        tracemalloc.start()
        try:
            report = triage(capsys, "big", "--last", "2")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert report["summary"]["bytes_read"] > 12_000_000  # the green log was read to its end …
    assert peak < 8_000_000, peak  # … without holding it (the stand-in's own buffers count here too)


def test_no_thread_per_request(env, capsys, monkeypatch):
    """Bounding every request used to start two timer threads per request; now one watchdog serves the run."""
    started: list[str] = []
    original = threading.Thread.start

    def counting(self: threading.Thread) -> None:
        if getattr(self, "_target", None) is None or self._target.__name__ != "process_request_thread":
            started.append(self.name)  # the stand-in's own threads (one per connection) are not ours
        original(self)

    monkeypatch.setattr(threading.Thread, "start", counting)
    with FakeJenkins({"alice": TOKEN}) as server:
        job = server.job("many")
        for n in range(1, 25):
            job.add(pipeline_build(n, fail=n % 6 != 0, size=BIG))
        login(env, server)
        report = triage(capsys, "many", "--last", "24", "--workers", "2")
        requests = len(server.requests)
    assert report["summary"]["builds"] == 24 and requests > 60
    assert len(started) <= 2 * 2 + 2, started  # two workers, their side requests, the watchdog


class CountingSlots(threading.BoundedSemaphore):
    """The client's request slots, counted: how many are taken now and at most (counted inside the slot, so never
    more than are really taken)."""

    made: ClassVar[list[CountingSlots]] = []

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self.size, self.taken, self.peak = value, 0, 0
        self._count = threading.Lock()
        CountingSlots.made.append(self)

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        got = super().acquire(blocking, timeout)
        if got:
            with self._count:
                self.taken += 1
                self.peak = max(self.peak, self.taken)
        return got

    def release(self, n: int = 1) -> None:
        with self._count:
            self.taken -= n
        super().release(n)


@pytest.fixture
def slots(monkeypatch):
    import earthly_doctor.jenkins.client as client_module

    CountingSlots.made = []
    monkeypatch.setattr(client_module.threading, "BoundedSemaphore", CountingSlots)
    return CountingSlots.made


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_requests_in_flight_never_exceed_workers_and_are_kept_busy(env, capsys, slots, workers):
    """`--workers N` is a ceiling on requests in flight, whatever the builds need (a failed build asks for its
    stages beside its head, and for a failed step's log): N builds are read at once, and the slots they leave free
    are taken by the next. With 20 ms added to every answer, all N are seen taken at once."""
    with FakeJenkins({"alice": TOKEN}, latency=0.02) as server:
        builds = mixed_job(server)
        login(env, server)
        report = triage(capsys, "mix", "--last", "6", "--workers", str(workers))
    (counted,) = slots
    assert counted.size == workers and counted.peak == workers
    assert counted.taken == 0  # every request gave its slot back, the heads closed mid-body too
    assert per_build(report) == {n: whole_log_hits(b) for n, b in builds.items() if whole_log_hits(b)}


def test_every_slot_comes_back_after_errors_cut_requests_short(env, capsys, slots):
    """A 500, a log cut as stalled, a build that is not found and a head closed mid-body each end their request
    in a different place; none may keep its slot (the next requests would wait on it until the deadline)."""
    with FakeJenkins({"alice": TOKEN}) as server:
        mixed_job(server)
        server.status[r"/mix/5/logText/progressiveText$"] = 500
        server.status[r"/mix/3/wfapi/describe$"] = 404
        server.trickle[r"/mix/4/consoleText$"] = (0.05, 0, 1)  # headers trickled: cut at the request timeout
        login(env, server)
        report = triage(capsys, "mix", "--last", "6", "--workers", "2", "--request-timeout", "1")
    (counted,) = slots
    assert counted.taken == 0 and counted.peak == 2
    errors = {f["build"]: f["summary"] for f in report["findings"] if f["status"] == "error"}
    assert set(errors) == {4, 5}, errors


@pytest.mark.parametrize("status_line", [b"HTTP/1.1 \xb2\xb2\xb2 OK", b"HTTP/1.1 \xb9\xb2\xb3 Superscript"])
def test_a_status_code_of_digits_python_cannot_read_gives_its_slot_back(env, capsys, slots, status_line):
    """A hostile server's status code made of latin-1 superscript digits: `str.isdigit()` says yes and `int()` says
    no. It is an error for that build, and the request's slot comes back: with one slot, a slot kept would make every
    later request wait until the run's deadline."""
    with FakeJenkins({"alice": TOKEN}) as server:
        builds = mixed_job(server)
        server.raw[r"/mix/[15]/logText/progressiveText$"] = status_line + b"\r\nContent-Length: 0\r\n\r\n"
        login(env, server)
        began = time.monotonic()
        report = triage(capsys, "mix", "--last", "6", "--workers", "1", "--timeout", "30")
        took = time.monotonic() - began
    (counted,) = slots
    assert counted.taken == 0 and took < 5, f"{took:.1f} s"
    errors = {f["build"]: f["summary"] for f in report["findings"] if f["status"] == "error"}
    assert set(errors) == {1, 5}, errors
    assert not any("JSON" in e for e in errors.values()), errors  # a bad status line, not a bad body
    assert per_build(report) == {n: whole_log_hits(b) for n, b in builds.items()
                                 if n not in errors and whole_log_hits(b)}


def test_a_log_page_dropped_unread_gives_its_slot_back(env):
    """A page asked for and then dropped without being read or closed (a bug in a caller) still frees its slot: with
    one slot, the next request goes out at once instead of waiting until the deadline."""
    with FakeJenkins({"alice": TOKEN}) as server:
        server.job("lib").add(pipeline_build(1, fail=True, size=BIG))
        client = JenkinsClient(Credentials(server.url, "alice", TOKEN, "environment"), timeout=5, workers=1,
                               deadline=time.monotonic() + 20)
        try:
            client.whoami()
            page = client.page("job/lib/1/logText/progressiveText", "log", {"start": 0})
            assert page.size > HEAD
            del page
            began = time.monotonic()
            assert client.recent_builds("lib", 1)[0]["number"] == 1
            assert time.monotonic() - began < 3
        finally:
            client.close()


@pytest.mark.parametrize("held", ["semaphore", "call"])
def test_a_body_collected_while_its_thread_holds_a_slot_lock_does_not_deadlock(held):
    """The collector may finalize a dropped body at any allocation, also while the same thread is inside the
    semaphore's release or the call's disarm (their locks are not reentrant): the finalizer only queues the slot,
    and the next request takes it back."""
    from earthly_doctor.jenkins.bounded import Body, Limits, _Call

    limits = Limits(5.0, deadline=time.monotonic() + 20, slots=threading.BoundedSemaphore(1))
    call = _Call.open(limits, True, "jenkins.example")  # the only slot
    body = Body(object(), call, None)
    lock = limits.slots._cond if held == "semaphore" else call._lock

    def finalized_inside_the_lock() -> None:
        with lock:
            body.__del__()

    worker = threading.Thread(target=finalized_inside_the_lock, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive()
    began = time.monotonic()
    _Call.open(limits, True, "jenkins.example").disarm()  # the dropped body's slot is taken back, at once
    assert time.monotonic() - began < 2


def test_a_request_waiting_for_a_slot_ends_at_the_run_deadline():
    """Waiting for a slot is a wait like any other: it ends at the run's deadline with one line, never hangs."""
    from earthly_doctor.jenkins.bounded import Exceeded, Limits, _Call

    full = threading.BoundedSemaphore(1)
    full.acquire()
    began = time.monotonic()
    with pytest.raises(Exceeded, match="deadline") as caught:
        _Call.open(Limits(5.0, deadline=began + 0.3, slots=full), False, "jenkins.example")
    assert caught.value.kind == "timeout" and time.monotonic() - began < 2


class BrokenSignatures(Scanning):
    """Built-in signatures that fail to load (a broken install): the error every log read meets."""

    def __init__(self, signature_dirs: object = ()) -> None:
        time.sleep(0.2)  # loaded on the side while the first requests are out: fails once log pages are open
        raise RuntimeError("the built-in signatures failed to load")


class BrokenScanner(Scanning):
    """Signatures that load, and a scanner that fails to start (a bug in it)."""

    def __call__(self) -> object:
        raise RuntimeError("the scanner failed to start")


@pytest.mark.parametrize("broken", [BrokenSignatures, BrokenScanner])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_scanner_that_fails_gives_the_log_pages_slots_back_at_once(env, capsys, monkeypatch, slots, broken,
                                                                     workers):
    """A log small enough to be read in one request (longer than a chunk, shorter than head + tail) is open when
    the scanner is asked for: if that fails the page must still be closed, or its slot stays taken and the build's
    own stages request (and every other build's) waits for it until the run's deadline. A bug of ours is one line,
    exit 3, at once."""
    import earthly_doctor.commands.jenkins_triage as command

    monkeypatch.setattr(command, "Scanning", broken)
    with FakeJenkins({"alice": TOKEN}) as server:
        job = server.job("lib")
        for n in range(1, 7):
            job.add(pipeline_build(n, fail=True, size=150_000))
        login(env, server)
        began = time.monotonic()
        code, _, err = run(capsys, "lib", "--last", "6", "--workers", str(workers), "--timeout", "30")
        took = time.monotonic() - began
    assert code == 3 and "internal error: RuntimeError" in err, err
    assert took < 5, f"{took:.1f} s: a slot was held until the deadline"
    (counted,) = slots
    assert counted.taken == 0


def test_ctrl_c_also_ends_a_log_being_streamed_slowly(env, capsys):
    """Ctrl-C while a big green log comes in at 80 KB/s (it would take 7 s more): the read stops at its next chunk
    instead of running to the log's end, and the run exits 130 at once."""
    import signal

    with FakeJenkins({"alice": TOKEN}) as server:
        job = server.job("slow")
        for n in range(1, 5):
            job.add(pipeline_build(n, fail=n != 4, size=600_000 if n == 4 else 2_000))
        server.trickle[r"/slow/4/consoleText$"] = (0.05, AFTER_HEADERS, 4096)
        login(env, server)
        sent: list[float] = []

        def interrupt() -> None:
            time.sleep(1.0)
            sent.append(time.monotonic())
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        threading.Thread(target=interrupt, daemon=True).start()
        code, _, _ = run(capsys, "slow", "--last", "4", "--workers", "2", "--timeout", "60")
        ended = time.monotonic()
    assert sent and code == 130
    assert ended - sent[0] < 2.5, f"{ended - sent[0]:.1f} s from Ctrl-C to exit"


def test_bad_credentials_with_one_worker_are_one_line_even_with_the_context_requests_still_queued(tmp_path):
    """With `--workers 1` the side pool has one thread: when whoami's 401 ends the run, the version, labels, build
    list and the built-in signatures' loading are still queued and are cancelled. That must not print a traceback
    (a callback that reads a cancelled future's exception raises, and concurrent.futures logs it to stderr). The
    real CLI in a subprocess, since pytest would capture that log record instead of letting it reach stderr; 50 ms
    per answer so the queue is still full when whoami fails."""
    with FakeJenkins({"alice": TOKEN}, latency=0.05) as server:
        mixed_job(server)
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NO_COLOR": "1", "JENKINS_URL": server.url,
               "JENKINS_USER": "alice", "JENKINS_API_TOKEN": "not-the-token"}
        done = subprocess.run([sys.executable, "-m", "earthly_doctor", "jenkins", "triage", "mix", "--last", "6",
                               "--workers", "1", "--timeout", "30"], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "whoami: authentication failed (401)" in lines[0], done.stderr


def test_a_stream_without_a_run_deadline_needs_no_watchdog(env):
    """A client made without a deadline (library use) streams a log to its end, and no thread fails meanwhile."""
    failures: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)  # type: ignore[assignment]
    try:
        with FakeJenkins({"alice": TOKEN}) as server:
            build = server.job("lib").add(pipeline_build(1, fail=True, size=BIG))
            client = JenkinsClient(Credentials(server.url, "alice", TOKEN, "environment"), timeout=5, deadline=None)
            try:
                client.whoami()
                size = sum(len(c) for c in client.stream("job/lib/1/consoleText", "log"))
            finally:
                client.close()
            time.sleep(0.2)
    finally:
        threading.excepthook = previous
    assert size == sum(len(c) for c in build.log().iter(raw=False)) and not failures


def test_a_secret_repeated_across_findings_is_redacted_every_time():
    """Each distinct report string is redacted once and reused: every place it appears still gets the result."""
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    findings = [Finding("ED160", "t", Status.FAIL, Severity.HIGH, f"token {secret}",
                        [Evidence("log_line", f"token {secret}", "log")],
                        extra={"stage": f"token {secret}"}) for _ in range(3)]
    report = Report(findings, Verdict("x", f"token {secret}", Confidence.LIKELY), "0")
    text = json.dumps(sanitize_report(report).to_dict())
    assert secret not in text
    assert text.count("<redacted:") == 3 * 3 + 1, text  # summary, evidence and stage of each; the verdict


def test_log_pieces_reach_the_scanner_joined_when_small_and_as_they_are_when_not():
    from earthly_doctor.jenkins.logs import COALESCE, _coalesce

    big = b"b" * (COALESCE + 7)
    small = [b"s" * 100] * 200  # 20 000 bytes in 200 small HTTP chunks
    chunks = [big, *small, big, b"end"]
    pieces = list(_coalesce(iter(chunks)))
    assert b"".join(pieces) == b"".join(chunks)
    assert pieces[0] is big  # no copy of a big chunk
    assert all(len(p) >= COALESCE for p in pieces[:-1])  # small ones joined until they are worth a scanner call
    assert len(pieces) <= 4


def test_head_is_cut_at_a_line_end():
    from earthly_doctor.jenkins.logs import _take

    data = b"".join(b"line %05d\n" % i for i in range(20_000))
    for size in (1, 7, 4096, 65_536, 100_000):
        pieces = [data[i:i + size] for i in range(0, len(data), size)]
        head = b"".join(_take(iter(pieces), HEAD))
        assert head == data[: data.rfind(b"\n", 0, HEAD) + 1], size
    short = b"one\ntwo\nno line end"
    assert b"".join(_take(iter([short[:5], short[5:]]), HEAD)) == short  # a whole log shorter than the head

    def cut_short() -> Iterator[bytes]:
        yield data[:10_005]
        raise JenkinsError("log: the run's deadline came", "timeout")

    got = bytearray()
    with pytest.raises(JenkinsError):
        for piece in _take(cut_short(), HEAD):
            got += piece
    assert bytes(got) == data[: data.rfind(b"\n", 0, 10_005) + 1]  # the whole lines before the deadline came


def test_after_whoami_requests_skip_requests_session_but_not_its_connections(env, capsys, monkeypatch):
    """Once python-jenkins has resolved auth (whoami) every request but the version goes straight to the connection
    pool requests set up (its TLS settings, its kept-alive connections). An answer other
    than 200 is asked again the usual way, so its error reads exactly as before."""
    import requests

    sent: list[str] = []
    original = requests.Session.send

    def counting(self: requests.Session, request: requests.PreparedRequest, **kwargs: object) -> object:
        sent.append(request.path_url)
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting)
    with FakeJenkins({"alice": TOKEN}) as server:
        mixed_job(server)
        server.status[r"/mix/5/logText/progressiveText$"] = 500
        login(env, server)
        report = triage(capsys, "mix", "--last", "6")
        logs = [p for _, p, auth in server.requests if "Text" in p]
        assert all(auth for _, _, auth in server.requests)  # credentials on every request, direct ones too
    # python-jenkins' own calls (whoami, then the version: no crumb), then the 500, asked again
    assert sent == ["/me/api/json?depth=0", "/", "/job/mix/5/logText/progressiveText?start=0"]
    assert logs.count("/job/mix/5/logText/progressiveText?start=0") == 2
    (error,) = [f for f in report["findings"] if f["status"] == "error"]
    assert error["build"] == 5 and "server error (500)" in error["summary"]
    assert {f["build"] for f in report["findings"] if f.get("stage") == "Image"} >= {1, 3, 6}  # wfapi, direct


def _direct_after(change) -> tuple[bool, bool]:
    """Whether a client takes the direct path after whoami, and again once `change(client)` has run."""
    with FakeJenkins({"alice": TOKEN}) as server:
        client = JenkinsClient(Credentials(server.url, "alice", TOKEN, "environment"), timeout=5,
                               deadline=time.monotonic() + 30)
        try:
            client.whoami()
            before = client._direct() is not None
            change(client)
            client._fast = False
            return before, client._direct() is not None
        finally:
            client.close()


def test_through_a_proxy_log_pages_go_the_usual_way(env):
    assert _direct_after(lambda c: c.server._session.proxies.update(http="http://proxy.invalid:3128")) == (True, False)


def test_a_crumb_with_a_line_break_keeps_requests_on_the_usual_way(env):
    """The crumb comes from the server and requests never checks it: framed by hand it could add header lines."""
    crumb = {"crumbRequestField": "Jenkins-Crumb", "crumb": "c0ffee\r\nX-Injected: 1"}
    assert _direct_after(lambda c: setattr(c.server, "crumb", crumb)) == (True, False)


def test_over_https_with_the_ca_from_requests_ca_bundle(env, capsys, tmp_path, monkeypatch):
    """The direct requests use the pool requests picks for the server, so its CA bundle (REQUESTS_CA_BUNDLE, read
    once) verifies the server's certificate there too."""
    import requests

    from tests.harness.tls_certs import make_certs

    sent: list[str] = []
    original = requests.Session.send
    monkeypatch.setattr(requests.Session, "send", lambda self, request, **kw: (sent.append(request.path_url),
                                                                               original(self, request, **kw))[1])

    certs = make_certs(tmp_path / "certs", ["127.0.0.1"])
    server = FakeJenkins({"alice": TOKEN}, tls=(str(certs.server / "cert.pem"), str(certs.server / "key.pem")))
    with server:
        mixed_job(server)
        login(env, server)
        env.setenv("REQUESTS_CA_BUNDLE", str(certs.server / "ca.pem"))
        report = triage(capsys, "mix", "--last", "6")
        env.delenv("REQUESTS_CA_BUNDLE")
        env.setenv("CURL_CA_BUNDLE", "")
        code, _, err = run(capsys, "mix", "--last", "6")  # the system's CAs do not know this one
    assert server.url.startswith("https://")
    assert not [p for p in sent if "Text" in p or "wfapi" in p]  # the logs and stages went the direct way
    assert {n for n, hits in per_build(report).items() if "proxy-unreachable" in hits} == {1, 2, 3, 5, 6}
    assert code == 2 and "certificate verify failed" in err and "Traceback" not in err


def test_a_redirecting_server_is_left_to_requests_which_follows(env):
    """After one redirect the direct way is given up for the session: requests follows redirects, urllib3 here
    does not, and asking twice for every request would cost a round trip each."""
    with FakeJenkins({"alice": TOKEN}) as server:
        server.job("moved").add(pipeline_build(1, fail=True, size=2_000))
        server.status[r"/moved/1/logText/progressiveText$"] = 302
        client = JenkinsClient(Credentials(server.url, "alice", TOKEN, "environment"), timeout=5,
                               deadline=time.monotonic() + 30)
        try:
            client.whoami()
            assert client._direct() is not None
            client.page("job/moved/1/logText/progressiveText", "log", {"start": 0}).close()
            assert client._direct() is None
        finally:
            client.close()


def test_a_fatal_answer_midway_through_many_builds_stops_the_run_in_one_line(env, capsys):
    """A 401 on one log of many (the token was revoked meanwhile) ends the run with that one line: the builds not
    started yet are not read, and none of those cancelled makes an error of its own."""
    with FakeJenkins({"alice": TOKEN}) as server:
        job = server.job("many")
        for n in range(1, 41):
            job.add(pipeline_build(n, fail=True, size=BIG))
        server.status[r"/many/30/logText/progressiveText$"] = 401
        login(env, server)
        code, out, err = run(capsys, "many", "--last", "40", "--workers", "2", "--format", "json")
        heads = [p for _, p, _ in server.requests if p.endswith("progressiveText?start=0")]
    assert code == 2 and out == "" and "Traceback" not in err and "Cancelled" not in err
    assert err.strip().splitlines() == [err.strip()] and "#30: authentication failed (401)" in err
    assert len(heads) < 40  # builds 1-28 (read after 30: newest first) were never asked for


def test_ctrl_c_mid_run_stops_reading_builds_and_exits_130(tmp_path):
    """Ctrl-C while many builds are read: the builds not started yet are dropped (before, every queued build was
    still read before the run ended), the running ones end with their request, and the exit is 130 without a
    traceback. The CLI runs in its own process (a real SIGINT) against the in-process stand-in, 100 ms per answer."""
    import os
    import signal
    import subprocess
    import sys

    with FakeJenkins({"alice": TOKEN}, latency=0.1) as server:
        job = server.job("many")
        for n in range(1, 161):
            job.add(pipeline_build(n, fail=True, size=2_000))  # a short log: stages and one log request a build
        env = dict(os.environ, JENKINS_URL=server.url, JENKINS_USER="alice", JENKINS_API_TOKEN=TOKEN, NO_COLOR="1",
                   HOME=str(tmp_path))
        env.pop("NETRC", None)
        # Python's own Ctrl-C handler even where this test inherited SIGINT ignored (a background CI job).
        start = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                 "sys.argv = ['earthly-doctor', *sys.argv[1:]]; runpy.run_module('earthly_doctor', run_name='__main__')")
        proc = subprocess.Popen([sys.executable, "-c", start, "jenkins", "triage", "many", "--last", "160", "--workers",
                                 "4"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while sum("Text" in p for _, p, _ in server.requests) < 8 and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        logs = sum("Text" in p for _, p, _ in server.requests)
    assert proc.returncode in (130, -signal.SIGINT), err
    assert b"Traceback" not in err, err
    # 4 requests in flight at 100 ms each: the whole run would read 160 logs in about 8 s.
    assert logs < 40, logs


def test_every_public_log_read_through_jenkins_finds_what_a_whole_scan_finds(env, capsys):
    """The public corpus (tests/fixtures/logs/public, sources in its SOURCES.md) served by the stand-in as failed
    builds' console logs, once as they are (one request reads each) and once after 600 KB of progress output (a head,
    then the corpus log in the tail): `jenkins triage --last N` finds, per build, the signatures a scan of the whole
    log finds, with 4 requests in flight."""
    from pathlib import Path

    logs = sorted(p for p in (Path(__file__).parents[1] / "fixtures" / "logs" / "public").glob("*.log"))
    assert len(logs) >= 30
    with FakeJenkins({"alice": TOKEN}) as server:
        jobs = {"as-is": server.job("corpus"), "padded": server.job("padded")}
        builds: dict[str, dict[int, Build]] = {"as-is": {}, "padded": {}}
        for number, path in enumerate(logs, start=1):
            data = path.read_bytes()
            data += b"" if data.endswith(b"\n") else b"\n"
            for kind, log in (("as-is", Log().add(data)), ("padded", filler(600_000).add(data))):
                build = Build(number, "FAILURE", node="agent-1", freestyle_log=log)
                jobs[kind].add(build)
                builds[kind][number] = build
        login(env, server)
        reports = {kind: triage(capsys, job.full_name, "--last", str(len(logs)), "--workers", "4")
                   for kind, job in jobs.items()}
    for kind, report in reports.items():
        found = per_build(report)
        assert not [f for f in report["findings"] if f["status"] == "error"], kind
        for number, build in builds[kind].items():
            assert found.get(number, set()) == whole_log_hits(build), (kind, logs[number - 1].name)
    assert any("tail from byte" in f.get("log", "") for f in reports["padded"]["findings"])
