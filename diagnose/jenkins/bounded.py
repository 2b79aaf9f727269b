"""Every Jenkins request bounded in wall time and size, whatever the server does (research/jenkins.md; issue 10).

A socket timeout alone bounds only the wait for the *next* byte: a server that trickles a byte a second never
trips it, and requests reads a whole answer into memory. So every request of the session goes through
`BoundedAdapter`, which adds:
- a wall-clock end per request: a JSON answer (and the headers of any answer) must be complete within the
  request timeout; a streamed log only within the run's deadline, and it must bring at least LOW_SPEED bytes in
  every request-timeout window (curl's --speed-limit/--speed-time idea), or it is cut as stalled;
- a check of that end before every read, with the socket timeout set to what is left, so no read outlasts it;
- a watchdog that shuts the socket down at the end, for the waits no read loop sees (a status line or headers
  trickled a byte at a time, a gzip stream that decodes to nothing);
- a size cap on every answer that is not streamed (MAX_JSON), read in chunks so a 2 GiB body costs nothing.
"""

from __future__ import annotations

import contextlib
import heapq
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError

MAX_JSON = 16 * 1024 * 1024  # bytes of one JSON answer; Jenkins' largest (wfapi of a huge pipeline) is ~1 MB
LOW_SPEED = 1024  # bytes a streamed body must bring in each request-timeout window
READ = 64 * 1024

SLOT_POLL = 0.25  # seconds: how often a request waiting for a slot looks for the slots of bodies dropped unclosed

_local = threading.local()  # the request this thread is sending, for the connection classes below


class Exceeded(Exception):
    """A request ran past its wall-clock end or its size cap (translated into one JenkinsError line)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Limits:
    request_timeout: float  # --request-timeout: per read, and the wall time of a JSON answer or of any headers
    deadline: float | None = None  # time.monotonic() at which the whole run ends (--timeout)
    max_json: int = MAX_JSON
    low_speed: int = LOW_SPEED
    slots: threading.Semaphore | None = None  # one per request in flight (--workers); None: no limit


class _Watchdog:
    """One thread for the whole session that shuts down the socket of every call whose end has passed.

    A thread per request (threading.Timer) cost two thread starts per request, a fifth of a 200-build run's CPU;
    here a request only pushes its end onto a heap. The thread starts with the first call and idles on a condition
    until the nearest end.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Call]] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._seq = 0

    def watch(self, call: _Call, end: float) -> None:
        if end == float("inf"):  # no end to enforce (no deadline on a stream): nothing to watch
            return
        with self._cond:
            self._seq += 1
            if len(self._heap) >= 1024:  # finished calls wait for their end to come up; a long follow makes many
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (end, self._seq, call))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="jenkins-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is call:  # a nearer end than the thread waits for
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    if not self._cond.wait(timeout=60.0):  # idle a minute: let the thread go (watch restarts it)
                        if not self._heap:
                            self._thread = None
                            return
                end, _, call = self._heap[0]
                now = time.monotonic()
                if call.done or call.current_end() > end:  # finished, or re-armed with a later end (pushed again)
                    heapq.heappop(self._heap)
                    continue
                if end > now:
                    self._cond.wait(timeout=end - now)
                    continue
                heapq.heappop(self._heap)
            call.fire()


_watchdog = _Watchdog()
_dropped: queue.SimpleQueue[_Call] = queue.SimpleQueue()  # calls whose body was collected before it was closed


def _give_back_dropped() -> None:
    while True:
        try:
            call = _dropped.get_nowait()
        except queue.Empty:
            return
        call.disarm()


class _Call:
    """One request: its wall-clock ends, enforced on its socket by the session's watchdog."""

    def __init__(self, limits: Limits, stream: bool, host: str) -> None:
        now = time.monotonic()
        self.limits = limits
        self.host = host
        self.stream = stream
        deadline = limits.deadline if limits.deadline is not None else float("inf")
        self.head_end = min(deadline, now + limits.request_timeout)
        self.end = deadline if stream else self.head_end
        self.headers_done = False
        self.fired = False
        self.done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._slot = False

    @classmethod
    def open(cls, limits: Limits, stream: bool, host: str) -> _Call:
        """A call, once fewer than `--workers` requests are in flight: the server sees that ceiling however many
        builds are being read. The slot is given back when the call is done (`disarm`); the wait for one ends at the
        run's deadline, as every other wait does, and a call with no time left is refused here, slot given back."""
        slots = limits.slots
        if slots is not None:
            while True:  # bounded by the deadline; each round first takes back the slots of bodies dropped unclosed
                _give_back_dropped()
                left = None if limits.deadline is None else max(0.0, limits.deadline - time.monotonic())
                if slots.acquire(timeout=SLOT_POLL if left is None else min(SLOT_POLL, left)):
                    break
                if left is not None and left <= SLOT_POLL:
                    raise Exceeded(f"the run's deadline (--timeout) came before a request to {host} could go out "
                                   "(the other requests in flight had not ended)", "timeout")
        call = cls(limits, stream, host)
        call._slot = slots is not None
        if call.left() <= 0:
            call.disarm()
            raise call.why()
        return call

    def current_end(self) -> float:
        return self.end if self.headers_done else self.head_end

    def left(self) -> float:
        return self.current_end() - time.monotonic()

    def why(self) -> Exceeded:
        t = self.limits.request_timeout
        if self.limits.deadline is not None and self.current_end() >= self.limits.deadline:
            return Exceeded(f"{self.host} was still answering when the run's deadline (--timeout) came", "timeout")
        if not self.headers_done:
            return Exceeded(f"no answer from {self.host} within {t:g} s (timeout)", "timeout")
        return Exceeded(f"no complete answer from {self.host} within {t:g} s (timeout; it sends too slowly)",
                        "timeout")

    @property
    def sock(self) -> socket.socket | None:
        return self._sock

    def arm(self, sock: socket.socket | None) -> None:
        """Watch `sock` until the current end; re-armed once the headers are in (a stream's end is later)."""
        if sock is None:
            return
        with self._lock:
            self._sock = sock
        _watchdog.watch(self, self.current_end())

    def disarm(self) -> None:
        with self._lock:
            self.done = True
            self._sock = None  # the heap may hold this call a while: not its socket
            slot, self._slot = self._slot, False
        if slot and self.limits.slots is not None:
            self.limits.slots.release()

    def fire(self) -> None:
        with self._lock:
            if self.done or self._sock is None:
                return
            self.fired = True
            try:
                # The socket level, below TLS: a blocked recv returns at once, whatever layer waits on it.
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
            except OSError:
                pass


class _Watched:
    """Mixed into urllib3's connections: the socket is watched from the moment the answer is awaited."""

    sock: socket.socket | None

    def getresponse(self) -> Any:
        call: _Call | None = getattr(_local, "call", None)
        if call is not None:
            call.arm(self.sock)
        return super().getresponse()  # type: ignore[misc]


class _WatchedConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class Body:
    """The body of one answer, read with the call's limits; stands in for `response.raw` (requests then reads it
    through `read`)."""

    def __init__(self, raw: Any, call: _Call, cap: int | None) -> None:
        self.raw = raw
        self.call = call
        self.cap = cap
        self.total = 0
        self._window_start = time.monotonic()
        self._window_bytes = 0
        self._timeout: float | None = None  # what the socket's timeout was last set to

    def read(self, amt: int | None = None, *_: Any, **__: Any) -> bytes:
        call = self.call
        if call.done:
            return b""
        left = call.left()
        if left <= 0 or call.fired:
            self.close()
            raise call.why()
        self._set_timeout(min(call.limits.request_timeout, left))
        try:
            data = self.raw.read1(amt or READ, decode_content=True)
        except Exception:
            if call.fired or call.left() <= 0:
                self.close()
                raise call.why() from None
            raise
        self.total += len(data)
        if self.cap is not None and self.total > self.cap:
            self.close()
            raise Exceeded(f"the answer from {self.call.host} is larger than {self.cap // (1024 * 1024)} MiB (not read "
                           "further)", "too-large")
        if not data:
            call.disarm()
            return b""
        self._check_speed(len(data))
        return bytes(data)

    def _check_speed(self, n: int) -> None:
        if not self.call.stream:
            return
        self._window_bytes += n
        now = time.monotonic()
        if now - self._window_start >= self.call.limits.request_timeout:
            if self._window_bytes < self.call.limits.low_speed:
                self.close()
                raise Exceeded(f"{self.call.host} sent {self._window_bytes} bytes in {now - self._window_start:.0f} s "
                               f"(stalled; --request-timeout {self.call.limits.request_timeout:g} s)", "timeout")
            self._window_start, self._window_bytes = now, 0

    def stream(self, amt: int = READ, decode_content: bool | None = None) -> Any:
        """What requests' iter_content calls when the raw response has it: the same bounded reads."""
        while chunk := self.read(amt):
            yield chunk

    def read_all(self) -> bytes:
        out = bytearray()
        while chunk := self.read(READ):
            out += chunk
        return bytes(out)

    def _set_timeout(self, seconds: float) -> None:
        if seconds == self._timeout:  # the common case, far from the end: a syscall saved per read
            return
        self._timeout = seconds
        sock = getattr(getattr(self.raw, "connection", None), "sock", None) or self.call.sock
        if sock is not None:
            try:
                sock.settimeout(max(0.01, seconds))
            except OSError:
                pass

    def close(self) -> None:
        self.call.disarm()
        with contextlib.suppress(OSError, HTTPError):  # a connection the watchdog shut down is gone either way
            self.raw.close()

    def __del__(self) -> None:
        # A body dropped unread and unclosed (a bug) must not keep its request slot: later requests would wait on it.
        # The slot is handed back through a queue, never from here: a finalizer may run while this very thread holds
        # a lock that giving it back takes (the semaphore's, the call's), and SimpleQueue.put is safe there.
        call = self.__dict__.get("call")
        if call is not None and not call.done:
            _dropped.put(call)

    def release_conn(self) -> None:
        self.raw.release_conn()

    def __getattr__(self, name: str) -> Any:  # headers, status, … of the real response
        return getattr(self.raw, name)


class BoundedAdapter(HTTPAdapter):
    def __init__(self, limits: Limits, **kwargs: Any) -> None:
        self.limits = limits
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _HTTPSPool}

    def send(  # type: ignore[override]
        self, request: Any, stream: bool = False, timeout: Any = None, **kwargs: Any
    ) -> Any:
        call = _Call.open(self.limits, bool(stream), urlsplit(request.url).netloc.rpartition("@")[2])
        left = call.left()
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        bound = (min(connect or left, left), min(read or left, left, self.limits.request_timeout))
        _local.call = call
        try:
            response = super().send(request, stream=True, timeout=bound, **kwargs)
        except Exception:
            call.disarm()
            if call.fired or call.left() <= 0:
                raise call.why() from None
            raise
        finally:
            _local.call = None
        call.headers_done = True
        call.arm(call.sock)  # from the headers' end to the body's
        whole = not stream or response.status_code >= 400  # an error page is read whole (python-jenkins quotes it)
        body = Body(response.raw, call, self.limits.max_json if whole else None)
        response.raw = body
        if whole:
            try:
                # What requests would read unbounded, read here within limits (requests has no public setter).
                response._content = body.read_all()  # noqa: SLF001
            finally:
                call.disarm()
            # setattr: requests' stubs declare this attribute in some versions and not in others.
            setattr(response, "_content_consumed", True)  # noqa: B010
            with contextlib.suppress(OSError, HTTPError):  # the connection was closed: nothing to give back
                body.release_conn()
        return response


def send_direct(pool: Any, url: str, headers: dict[str, str], limits: Limits, *, stream: bool = True) -> Body:
    """A GET of `url` on a connection of `pool` (one requests itself would use) with the same limits as
    `BoundedAdapter` (a stream until the run's deadline, else the request timeout and the JSON cap), framed by
    `wire` without requests', urllib3's and http.client's per-request work. Its errors come out as the requests
    exceptions the adapter would raise (`as_requests_error`)."""
    from earthly_doctor.jenkins import wire

    call = _Call.open(limits, stream, urlsplit(url).netloc.rpartition("@")[2])
    left = call.left()
    timeout = min(limits.request_timeout, left)
    try:
        raw = wire.request(pool, url, headers, connect_timeout=timeout, read_timeout=timeout, on_sent=call.arm)
    except (HTTPError, OSError) as exc:  # every way the request fails to go out or its head to come in
        call.disarm()
        if call.fired or call.left() <= 0:
            raise call.why() from None
        raise as_requests_error(exc) from None
    except BaseException:  # anything else (a bug, an answer `wire` misreads) must not keep the request's slot
        call.disarm()
        raise
    call.headers_done = True
    call.arm(call.sock)  # from the headers' end to the body's
    return Body(raw, call, None if stream else limits.max_json)


def as_requests_error(exc: BaseException, *, body: bool = False) -> BaseException:
    """The requests exception requests raises for a urllib3 error, sending (HTTPAdapter.send) or reading the body
    (Response.iter_content), so one translation into JenkinsError serves both paths."""
    from requests import exceptions as rex
    from urllib3 import exceptions as u3

    if isinstance(exc, u3.SSLError):
        return rex.SSLError(exc)
    if body and isinstance(exc, u3.ProtocolError):
        return rex.ChunkedEncodingError(exc)
    if body and isinstance(exc, u3.ReadTimeoutError):
        return rex.ConnectionError(exc)
    if isinstance(exc, u3.ConnectTimeoutError) and not isinstance(exc, u3.NewConnectionError):
        return rex.ConnectTimeout(exc)
    if isinstance(exc, u3.ReadTimeoutError):
        return rex.ReadTimeout(exc)
    if isinstance(exc, u3.DecodeError):
        return rex.ContentDecodingError(exc)
    if isinstance(exc, (u3.ProtocolError, u3.NewConnectionError, u3.ClosedPoolError, OSError)):
        return rex.ConnectionError(exc)
    if isinstance(exc, HTTPError):
        return rex.ConnectionError(exc)
    return exc


@contextlib.contextmanager
def body_errors() -> Iterator[None]:
    """urllib3's errors while a body is read, as the requests exceptions `Response.iter_content` would raise."""
    try:
        yield
    except (HTTPError, OSError) as exc:
        raise as_requests_error(exc, body=True) from None
