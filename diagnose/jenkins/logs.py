"""How one build's log is read: in chunks, the failing part first, never whole in memory.

The order (research/jenkins.md §1.5, §1.6, §4.7):
1. A running build: follow `logText/progressiveText` from 0 with `X-Text-Size` as the next `start` while
   `X-More-Data` says the log grows, until it completes or the wait runs out (then it is reported incomplete).
2. A failed build: `wfapi/describe` (when the Pipeline REST API is there) names the failed stage and its agent;
   it goes out beside the first log request (neither needs the other), so the build costs two round trips.
   Earthly's error is the last thing a failing step prints, so the build log is read as head + tail: the first
   response's `X-Text-Size` gives the length, the head (agent, Earthly version; HEAD bytes cut at a line end) is
   read from it, and the tail is fetched from `start = size - tail`. Without a failure there, the failed stage's
   failed steps' own logs are read the same way (a parallel branch that failed early is not at the end of the build
   log); only then is the whole `consoleText` streamed.
3. A green build: the whole `consoleText`, streamed (it is what red herrings are measured against).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from earthly_doctor.jenkins import WORKERS
from earthly_doctor.jenkins.client import FATAL, JenkinsClient, JenkinsError, job_path
from earthly_doctor.jenkins.scan import Sniffer, is_hit

HEAD = 64 * 1024
TAIL = 256 * 1024
COALESCE = 16 * 1024  # bytes a piece fed to the scanner has at least (it scans 16 KiB pieces as fast as 64 KiB ones)


@dataclass
class Found:
    """A scanner match and what was read to find it (`log`): its line number counts from the start of that."""

    match: Any  # earthly_doctor.triage.Match
    log: str


@dataclass
class LogRead:
    found: list[Found] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # every occurrence per signature, beyond those kept
    source: str = ""  # what was read: "consoleText", "step 9 head+tail", "progressiveText (running)", …
    bytes_read: int = 0
    node: str | None = None
    earthly_version: str | None = None
    stage: str | None = None  # the failed stage, from wfapi
    complete: bool = True  # False when a running build was still running at the end of the wait, or time ran out
    wfapi: bool = False

    @property
    def failed(self) -> bool:
        """A failure-status signature was found (the reason to stop reading)."""
        return any(getattr(f.match.signature.status, "value", "") == "fail" for f in self.found)

    def collect(self, scanner: Any, log: str) -> None:
        scanner.finish()
        self.found.extend(Found(m, log) for m in scanner.matches if is_hit(m))
        self.counts.update(dict(scanner.counts.items()))


@dataclass
class Budget:
    """The time left for the whole run; every loop over chunks or polls checks it."""

    deadline: float

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def over(self) -> bool:
        return self.left() <= 0


class Reader:
    def __init__(self, client: JenkinsClient, budget: Budget, *, tail: int = TAIL, wait: float = 0.0,
                 poll: float = 2.0, scanner: Callable[[], Any], workers: int = WORKERS) -> None:
        self.client = client
        self.workers = max(1, workers)
        self._side: ThreadPoolExecutor | None = None
        self._side_lock = threading.Lock()
        self.budget = budget
        self.tail = tail
        self.wait = wait
        self.poll = poll
        self.scanner = scanner

    def read(self, job: str, build: dict[str, Any]) -> LogRead:
        number = int(build["number"])
        base = f"{job_path(job)}{number}/"
        out = LogRead()
        sniff = Sniffer()
        try:
            self._read(job, number, build, base, out, sniff)
        except JenkinsError as exc:
            if exc.kind != "timeout" or not self.budget.over():
                raise
            out.complete = False  # the run's deadline came mid-read: report what was read, marked incomplete
        out.node = out.node or sniff.node
        out.earthly_version = sniff.version
        for found in out.found:
            found.match.stage = found.match.stage or out.stage
        return out

    def _read(self, job: str, number: int, build: dict[str, Any], base: str, out: LogRead, sniff: Sniffer) -> None:
        if build.get("building"):
            self._follow(base, f"log of {job} #{number}", out, sniff)
        elif build.get("result") in ("SUCCESS", None):
            self._whole(base, f"log of {job} #{number}", out, sniff)
        else:
            # The stages answer and the log's head do not depend on each other: both go out at once, so a failed
            # build costs two round trips (stages + head, then tail) rather than three.
            described = self.beside(lambda: _optional(lambda: self.client.stages(job, number)))
            try:
                self._head_tail(base, f"log of {job} #{number}", out, sniff, "build log")
            except Exception:
                with contextlib.suppress(Exception):  # the log's error is the one to report; keep the stage if known
                    self._failed_stage(described.result(), out)
                raise
            # Bounded: the stages request has its own timeout and the run's deadline; its fatal errors propagate.
            failed_stage = self._failed_stage(described.result(), out)
            if not out.failed and failed_stage and not self.budget.over():  # a parallel branch may not write the tail
                for step in self._failed_steps(job, number, failed_stage):
                    self._head_tail(f"{base}execution/node/{step}/log/", f"log of step {step} of {job} #{number}",
                                    out, sniff, f"step {step} log")
            if not out.failed and not self.budget.over():
                self._whole(base, f"log of {job} #{number}", out, sniff)

    # -- Pipeline REST API

    def beside(self, call: Callable[[], Any]) -> Future[Any]:
        """`call` on the side pool (one more request in flight for this build), started now."""
        with self._side_lock:
            if self._side is None:
                self._side = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="jenkins-side")
            return self._side.submit(call)

    def close(self) -> None:
        with self._side_lock:
            if self._side is not None:
                self._side.shutdown(wait=True, cancel_futures=True)
                self._side = None

    @staticmethod
    def _failed_stage(described: dict[str, Any] | None, out: LogRead) -> str | None:
        """The failed stage's name (into `out.stage`) and flow-node id; the agent from `execNode`."""
        if not described:
            return None
        out.wfapi = True
        stages = [s for s in described.get("stages") or [] if isinstance(s, dict)]
        for stage in stages:
            if stage.get("execNode") and not out.node:
                out.node = stage["execNode"]
        failed = [s for s in stages if s.get("status") == "FAILED"]
        if not failed:
            return None
        out.stage = failed[-1].get("name")
        return str(failed[-1].get("id") or "") or None

    def _failed_steps(self, job: str, number: int, stage_id: str) -> list[str]:
        detail = _optional(lambda: self.client.stage(job, number, stage_id))
        nodes = (detail or {}).get("stageFlowNodes") or []
        return [str(n["id"]) for n in nodes if isinstance(n, dict) and n.get("status") == "FAILED" and n.get("id")]

    # -- readers

    def _scan(self, chunks: Iterable[bytes], out: LogRead, sniff: Sniffer | None, log: str, *,
              skip_first_line: bool = False) -> bool:
        """Feed chunks to a fresh scanner; False when time ran out before the end."""
        scanner = self.scanner()
        finished = True
        stopped: list[bool] = []
        for chunk in _coalesce(self._within(chunks, stopped)):
            if skip_first_line:  # a tail starts mid-line (maybe mid-note): drop up to the first newline
                cut = chunk.find(b"\n")
                if cut < 0:
                    continue
                chunk, skip_first_line = chunk[cut + 1:], False  # noqa: PLW2901 -- the rest of this chunk
            out.bytes_read += len(chunk)
            if sniff is not None:
                sniff.feed(chunk)
            scanner.feed(chunk)
            if self.budget.over():
                finished = False
                break
        finished = finished and not stopped
        out.collect(scanner, log)
        out.complete = out.complete and finished
        return finished

    def _within(self, chunks: Iterable[bytes], stopped: list[bool]) -> Iterator[bytes]:
        """The chunks until the run's deadline cuts the answer off mid-body (then `stopped` gets an entry): what
        was read so far is still scanned and reported, marked incomplete."""
        try:
            yield from chunks
        except JenkinsError as exc:
            if exc.kind != "timeout" or not self.budget.over():
                raise
            stopped.append(True)

    def _whole(self, base: str, what: str, out: LogRead, sniff: Sniffer) -> None:
        out.found.clear()  # the whole log supersedes any head or tail already scanned
        out.counts.clear()
        out.source = "consoleText"
        self._scan(self.client.stream(base + "consoleText", what), out, sniff, "consoleText")

    def _head_tail(self, base: str, what: str, out: LogRead, sniff: Sniffer, label: str) -> None:
        url = base + "logText/progressiveText"
        first = self.client.page(url, what, {"start": 0})
        if first.size < 0 or first.size <= HEAD + self.tail:
            out.source = label
            try:
                self._scan(first.chunks, out, sniff, label)
            finally:  # a scanner that fails before the body is read must not keep its request slot
                first.close()
            return
        # The head is read whole and its connection closed before it is scanned: until then the server keeps writing
        # the rest of the log into the socket buffers (megabytes on a fast link), all of it thrown away.
        try:
            head = _prefetch(_take(first.chunks, HEAD))
        finally:
            first.close()
        start = max(0, first.size - self.tail)
        # The head is scanned first and the tail asked for on this thread: handing the request to a side thread to
        # overlap a 0.1 ms scan cost more (two thread wake-ups on a shared GIL) than it saved.
        self._scan(head, out, sniff, f"{label} head")
        out.source = f"{label} head+tail"
        tail = self.client.page(url, what, {"start": start})
        try:
            self._scan(tail.chunks, out, sniff, f"{label} (tail from byte {start})", skip_first_line=True)
        finally:
            tail.close()

    def _follow(self, base: str, what: str, out: LogRead, sniff: Sniffer) -> None:
        """A running build: page through progressiveText until complete, the wait ends, or the budget does."""
        out.source = "progressiveText (running)"
        scanner = self.scanner()
        start, until = 0, time.monotonic() + self.wait
        for _ in range(100_000):  # bounded: each round either advances or sleeps toward `until`
            page = self.client.page(base + "logText/progressiveText", what, {"start": start})
            if 0 <= page.size < start:  # the server restarted from 0 (the log rolled over): so do we
                scanner, out.bytes_read = self.scanner(), 0
            stopped: list[bool] = []
            for chunk in self._within(page.chunks, stopped):
                out.bytes_read += len(chunk)
                sniff.feed(chunk)
                scanner.feed(chunk)
            if stopped:
                out.complete = False
                break
            advanced = page.size > start
            start = page.size if page.size >= 0 else start
            if not page.more:
                break
            if self.budget.over() or time.monotonic() >= until:  # --wait 0: what one request returns
                out.complete = False
                break
            if not advanced:
                time.sleep(max(0.0, min(self.poll, until - time.monotonic(), self.budget.left())))
        out.collect(scanner, "progressiveText")


def _prefetch(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """`chunks` read now and given again later, a JenkinsError included at the point where it came."""
    got: list[bytes] = []
    error: JenkinsError | None = None
    try:
        got.extend(chunks)
    except JenkinsError as exc:
        error = exc

    def again() -> Iterator[bytes]:
        yield from got
        if error is not None:
            raise error

    return again()


def _optional(call: Callable[[], Any]) -> Any:
    """The Pipeline REST API only adds detail: when it fails (500, bad JSON), read the log without it."""
    try:
        return call()
    except JenkinsError as exc:
        if exc.kind in FATAL:
            raise
        return None


def _coalesce(chunks: Iterable[bytes], size: int = COALESCE) -> Iterable[bytes]:
    """Pieces of at least `size` bytes: a server's small HTTP chunks would cost the scanner a call each. A chunk that
    big already goes on as it is: one socket read brings just under 64 KiB of body, and copying it twice cost more
    than the call it saves."""
    pending = bytearray()
    for chunk in chunks:
        if not pending and len(chunk) >= size:
            yield chunk
            continue
        pending += chunk
        if len(pending) >= size:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def _take(chunks: Iterable[bytes], limit: int) -> Iterable[bytes]:
    """The first `limit` bytes cut back to their last line end (the same bytes whatever the chunking, no half line
    at the end), passed on as whole lines arrive: a head cut short by the deadline still gives what came. The
    underlying response is closed by the caller."""
    taken = 0
    held = b""  # the bytes since the last line end, not passed on yet
    given = False
    for chunk in chunks:
        piece = chunk[: limit - taken]
        taken += len(piece)
        data = held + piece
        cut = data.rfind(b"\n") + 1
        if taken >= limit:
            if cut or not given:  # one line longer than the whole head is given as it is
                yield data[:cut] if cut else data
            return
        if cut:
            yield data[:cut]
            given = True
        held = data[cut:]
    if held:  # the log ended before the limit: its last line is whole
        yield held
