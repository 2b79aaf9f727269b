"""Many builds at once: a bounded thread pool reads logs (see `logs`), then one summary per signature.

The summary says which signature hit how many builds, on which agents, labels and Earthly versions, first and
last seen; a signature that also shows up in green builds is marked a red herring (it cannot be what failed them).
Errors that make every further call pointless (auth, permission, refused, TLS, DNS, not Jenkins at all)
stop the run with one line; anything else about one build becomes an `error` finding for that build.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, UTC
from typing import Any, Callable

from earthly_doctor.errors import UsageError
from earthly_doctor.jenkins.client import FATAL, JenkinsClient, JenkinsError
from earthly_doctor.jenkins.logs import Budget, Found, LogRead, Reader

GREEN = {"SUCCESS"}


@dataclass
class BuildResult:
    job: str
    number: int
    url: str = ""
    result: str | None = None  # SUCCESS | FAILURE | UNSTABLE | ABORTED | NOT_BUILT | None while running
    building: bool = False
    timestamp: int = 0  # ms since the epoch
    node: str | None = None
    labels: list[str] = field(default_factory=list)
    earthly_version: str | None = None
    stage: str | None = None
    found: list[Found] = field(default_factory=list)  # the first match of each signature, in reading order
    counts: dict[str, int] = field(default_factory=dict)  # occurrences per signature
    source: str = ""
    complete: bool = True
    bytes_read: int = 0
    error: str | None = None

    @property
    def green(self) -> bool:
        return self.result in GREEN

    @property
    def when(self) -> str:
        return iso(self.timestamp)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ms else ""


def pick_builds(client: JenkinsClient, job: str, build: str | None, last: int | None) -> list[Any]:
    """What to read: `--last N` as build JSON rows (one request for all), else one build number or permalink."""
    if last is not None:
        rows = client.recent_builds(job, last)
        if not rows:
            raise UsageError(f"job {job} has no builds")
        return rows
    if build is None:
        info = client.job(job)
        if not info.get("lastFailedBuild"):
            raise UsageError(f"job {job} has no failed build; name one (JOB BUILD) or use --last N")
        return [str(info["lastFailedBuild"]["number"])]
    return [build]


def read_one(client: JenkinsClient, reader: Reader, job: str, ref: Any, labels: dict[str, list[str]]) -> BuildResult:
    """One build: its JSON (unless `ref` already is it, from `--last`), its log, and where it ran."""
    info = ref if isinstance(ref, dict) and "result" in ref and "building" in ref else client.build(job, _number(ref))
    result = BuildResult(job=job, number=int(info["number"]), url=str(info.get("url") or ""), result=info.get("result"),
                         building=bool(info.get("building")), timestamp=int(info.get("timestamp") or 0))
    read: LogRead = reader.read(job, info)
    built_on = info.get("builtOn")  # freestyle only; '' is the built-in node
    result.node = read.node or (built_on or ("Built-In Node" if built_on == "" else None))
    result.labels = list(labels.get(result.node or "\0", []))
    result.earthly_version, result.stage = read.earthly_version, read.stage
    result.source, result.complete, result.bytes_read = read.source, read.complete, read.bytes_read
    result.counts = dict(read.counts)
    seen: set[str] = set()
    for found in read.found:  # one per signature and build: the summary counts builds
        if found.match.signature.id not in seen:
            seen.add(found.match.signature.id)
            result.found.append(found)
    return result


def _number(ref: Any) -> str:
    return str(ref["number"]) if isinstance(ref, dict) else str(ref)


def run_many(client: JenkinsClient, reader: Reader, job: str, refs: list[Any], labels: dict[str, list[str]], *,
             workers: int, budget: Budget, progress: Callable[[int, int, BuildResult | None], None] | None = None,
             ) -> list[BuildResult]:
    """Read `refs` on `workers` threads (the client lets as many requests out at once), in the order given; a fatal
    error stops the rest. `progress` is told on this thread, while the others are still read, of each build that
    ends (None for one that failed the run)."""
    stop = threading.Event()

    def task(ref: Any) -> BuildResult:
        number = int(_number(ref)) if _number(ref).isdigit() else 0
        if stop.is_set() or budget.over():
            return BuildResult(job, number, error="not read: the run's time ran out" if budget.over() else "not read")
        try:
            return read_one(client, reader, job, ref, labels)
        except JenkinsError as exc:
            if exc.kind in FATAL or len(refs) == 1:  # one build asked for: its failure is the run's
                stop.set()
                raise
            return BuildResult(job, number, error=str(exc))

    # Finished futures arrive on a queue: waiting on every pending future for each one that ends (wait(...,
    # FIRST_COMPLETED)) cost the main thread O(builds) lock work per build, on the GIL the readers need.
    finished: queue.SimpleQueue[Future[BuildResult]] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="jenkins-triage") as pool:
        pending: dict[Future[BuildResult], int] = {}
        for i, ref in enumerate(refs):
            future = pool.submit(task, ref)
            pending[future] = i
            future.add_done_callback(finished.put)
        try:
            results = _collect(pending, finished, len(refs), lambda: max(0.1, budget.left() + client.timeout), stop,
                               progress)
        except BaseException:  # Ctrl-C: the builds not started are dropped, the running ones end
            stop.set()
            budget.deadline = time.monotonic()  # and the logs being read stop at their next chunk
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [results[i] for i in range(len(refs)) if i in results]


def _collect(pending: dict[Future[BuildResult], int], finished: queue.SimpleQueue[Future[BuildResult]], total: int,
             patience: Callable[[], float], stop: threading.Event,
             progress: Callable[[int, int, BuildResult | None], None] | None) -> dict[int, BuildResult]:
    """The builds' results by index as they finish; the first fatal error cancels what has not started and is raised
    once the running ones are done."""
    results: dict[int, BuildResult] = {}
    fatal: JenkinsError | None = None
    while pending:
        try:
            future = finished.get(timeout=patience())
        except queue.Empty:  # every request has its own timeout, so this only guards against a bug
            stop.set()
            for other in pending:
                other.cancel()
            break
        index = pending.pop(future, None)
        if index is None or future.cancelled():  # cancelled after a fatal error: nothing to report
            continue
        result: BuildResult | None = None
        try:
            result = results[index] = future.result()
        except JenkinsError as exc:
            fatal = fatal or exc
        if progress:
            progress(len(results), total, None if fatal else result)
        if fatal:
            for other in pending:
                other.cancel()
    if fatal:
        raise fatal
    return results


# ---------------------------------------------------------------------------------------------------- summary


def summarise(results: list[BuildResult]) -> dict[str, Any]:
    """Per signature: builds hit (failed and green), nodes, labels, Earthly versions, first/last seen, red herring."""
    table: dict[str, dict[str, Any]] = {}
    for r in sorted(results, key=lambda r: (r.timestamp, r.number)):
        for found in r.found:
            sig = found.match.signature
            row = table.setdefault(sig.id, {
                "signature": sig.id, "title": sig.title, "cause": sig.cause, "builds": 0, "failed_builds": 0, "green_builds": 0,
                "nodes": Counter(), "labels": Counter(), "earthly_versions": Counter(), "first_seen": None,
                "last_seen": None, "build_numbers": [],
            })
            row["builds"] += 1
            row["green_builds" if r.green else "failed_builds"] += 1
            row["nodes"][r.node or "?"] += 1
            for label in r.labels:
                row["labels"][label] += 1
            row["earthly_versions"][r.earthly_version or "?"] += 1
            seen = {"build": r.number, "timestamp": r.when, "url": r.url}
            row["first_seen"] = row["first_seen"] or seen
            row["last_seen"] = seen
            row["build_numbers"].append(r.number)
    rows = []
    for row in table.values():
        row["red_herring"] = row["green_builds"] > 0
        for key in ("nodes", "labels", "earthly_versions"):
            row[key] = dict(row[key].most_common())
        rows.append(row)
    rows.sort(key=lambda row: (row["red_herring"], -row["failed_builds"], row["signature"]))
    herrings = {row["signature"] for row in rows if row["red_herring"]}
    failed = [r for r in results if not r.green and not r.building and not r.error]
    return {
        "builds": len(results),
        "failed": len(failed),
        "green": sum(1 for r in results if r.green),
        "running": sum(1 for r in results if r.building),
        "errors": sum(1 for r in results if r.error),
        "bytes_read": sum(r.bytes_read for r in results),
        "signatures": rows,
        "unexplained_builds": [r.number for r in failed if not any(f.match.signature.id not in herrings for f in r.found)],
    }


def elapsed_ms(began: float) -> int:
    return int((time.monotonic() - began) * 1000)
