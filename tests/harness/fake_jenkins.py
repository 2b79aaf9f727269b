"""A stand-in Jenkins on loopback, faithful to the shapes and quirks in research/jenkins.md (§1.4–§1.7, §4).

What it serves, and how a real Jenkins behaves there:
- `GET /` with the `X-Jenkins` response header (also on 403); `crumbIssuer/api/json` (or 404 when disabled).
- Basic auth with users and API tokens: a bad token is 401, a user without Overall/Read is 403, and anonymous
  callers get 403 unless anonymous read is on.
- `me/api/json`, `computer/api/json` (nodes with labels), job and folder `api/json`, build `api/json` by number
  or by permalink (`lastFailedBuild`, `lastBuild`, …), `consoleText` (ConsoleNotes stripped, line ends as
  written), `logText/progressiveText` (Jenkins ≥ 2.509: raw notes, LF→CRLF, `X-Text-Size` = raw length,
  `X-More-Data: true` while running), `wfapi/describe` (with and without the trailing slash), stage describe,
  step `wfapi/log` (HTML tail, 10 KiB) and step `log/logText/progressiveText`.
- Folder and multibranch names: URL segments are unquoted once, so `feature%252Fx` names the job `feature%2Fx`.
- What `jenkins triage` leans on to read few bytes and few requests (research/jenkins.md §1.6, from stapler's
  `LargeText.doProgressText` and core's `AnnotatedLargeText`): progressiveText sends the raw log from byte `start`
  to its end with `X-Text-Size` = the log's length in its headers, before any of the body, so a client learns a
  finished log's length from the first answer and asks for the tail with `start = size - tail`; a `start` past the
  end starts again from 0 (a rolled-over log). Requests are answered concurrently and connections kept alive
  (HTTP/1.1, as Jetty does), so a build's `wfapi/describe` and its log's head may be in flight at the same time;
  `arrivals` records when each request came, for tests of what overlapped.
- Injection: added latency per request, slow paths, forced status codes, malformed JSON bodies.

Logs are lists of `(bytes, repeat)` parts and are produced lazily while streaming; a 5 MB log costs one
shared filler block, never 5 MB of memory. Run it in a subprocess for benchmarks: `python -m
tests.harness.fake_jenkins --bench BUILDS MB LATENCY_MS` prints the port and serves until stdin closes.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
import socket
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

VERSION = "2.516.3"
CHUNK = 64 * 1024
TS = b"[2024-01-22T23:20:55.244Z] "
# A signed ConsoleNote as Jenkins writes it before every `[Pipeline]` line (research §4.4).
NOTE = b"\x1b[8mha:////4" + base64.b64encode(b"fake-note-payload-" * 4) + b"\x1b[0m"
_NOTE_RE = re.compile(rb"\x1b\[8mha:[A-Za-z0-9+/=]*\x1b\[0m")
PERMALINKS = {
    "lastBuild": lambda b: True,
    "lastCompletedBuild": lambda b: b.result is not None,
    "lastFailedBuild": lambda b: b.result == "FAILURE",
    "lastSuccessfulBuild": lambda b: b.result in ("SUCCESS", "UNSTABLE"),
    "lastStableBuild": lambda b: b.result == "SUCCESS",
    "lastUnsuccessfulBuild": lambda b: b.result not in (None, "SUCCESS"),
    "lastUnstableBuild": lambda b: b.result == "UNSTABLE",
}

EARTHLY_FAILURE = [
    b"Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:",
    (b"\t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: exit status 1: "
    b'Error response from daemon: Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection '
    b"refused: exit status 1"),
]


# ---------------------------------------------------------------------------------------------------- the data


class Log:
    """A log as `(raw bytes, repeat)` parts: each part holds whole lines, so notes can be stripped per part."""

    def __init__(self) -> None:
        self.parts: list[tuple[bytes, bytes, int]] = []  # (raw, without notes, repeat)
        self._runs: dict[tuple[bytes, int, bool], bytes] = {}  # a part's bytes x repeats, as sent, made once

    def add(self, raw: bytes, repeat: int = 1) -> Log:
        if raw:
            self.parts.append((raw, _NOTE_RE.sub(b"", raw), repeat))
        return self

    def line(self, text: bytes | str, *, stamp: bool = True, note: bool = False, eol: bytes = b"\n") -> Log:
        data = text.encode() if isinstance(text, str) else text
        return self.add((TS if stamp else b"") + (NOTE if note else b"") + data + eol)

    def extend(self, other: Log) -> Log:
        self.parts.extend(other.parts)
        return self

    def size(self, visible: int | None = None) -> int:
        return sum(len(raw) * n for raw, _, n in self.parts[:visible])

    def iter(self, start: int = 0, *, raw: bool = True, visible: int | None = None,
             crlf: bool = False) -> Iterator[bytes]:
        """Bytes from raw offset `start` (notes kept when `raw`; every line end as CRLF when `crlf`, as
        progressiveText sends them), in chunks of at most CHUNK bytes."""
        offset = 0
        after_cr = False  # the last byte sent was a CR: the writer leaves the LF after it alone
        for part_raw, part_plain, repeat in self.parts[:visible]:
            data = part_raw if raw else part_plain
            left = repeat
            while left:
                # A run of whole repeats goes out as one chunk (as Jetty's ~32 KB buffer would), never the whole log.
                run = 1 if offset < start else max(1, min(left, CHUNK // max(1, len(data))))
                end = offset + len(part_raw) * run
                if end > start:
                    inside = raw and offset < start  # the repeat `start` falls in: from that byte on
                    piece = data[start - offset :] if inside else data
                    made = (_crlf(piece) if crlf else piece) if inside else self._run(data, run, crlf)
                    if crlf and after_cr and piece[:1] == b"\n":
                        made = made[1:]
                    after_cr = piece[-1:] == b"\r"
                    yield from _pieces(made)
                offset, left = end, left - run

    def _run(self, data: bytes, run: int, crlf: bool) -> bytes:
        """`run` repeats of a part as they go out, made once: the stand-in shares the machine with the client it
        serves, and Jenkins' own work per byte (its line-end conversion) happens on Jenkins' machine."""
        key = (data, run, crlf)
        made = self._runs.get(key)
        if made is None:
            made = self._runs[key] = _crlf(data * run) if crlf else data * run
        return made


def _crlf(data: bytes) -> bytes:
    """Every line end as CRLF (Jenkins' LineEndNormalizingWriter, research/jenkins.md §1.6); `Log.iter` carries its
    one piece of state (a CR just written) from one part to the next."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _pieces(data: bytes) -> Iterator[bytes]:
    if len(data) <= CHUNK:
        yield data
        return
    view = memoryview(data)
    for i in range(0, len(view), CHUNK):
        yield bytes(view[i : i + CHUNK])


def filler(size: int, *, stamp: bool = True, width: int = 100) -> Log:
    """About `size` bytes of Earthly-looking progress output, from one shared block repeated."""
    lines = []
    for i in range(64):
        body = f"              output | [{i:>3}%] building layer {i:05d} of +image: copying files …"
        lines.append(((TS.decode() if stamp else "") + body).ljust(width - 1, ".") + "\n")
    block = "".join(lines).encode()
    log = Log()
    if size >= len(block):
        log.add(block, size // len(block))
    return log


@dataclass
class Step:
    name: str
    log: Log
    status: str = "SUCCESS"  # wfapi StatusExt: SUCCESS | FAILED | …
    script: str = ""
    id: str = ""


@dataclass
class Stage:
    name: str
    steps: list[Step]
    status: str = "SUCCESS"
    id: str = ""


@dataclass
class Build:
    number: int
    result: str | None
    node: str = "agent-1"
    stages: list[Stage] = field(default_factory=list)
    freestyle_log: Log | None = None  # a freestyle build: no stages, no wfapi
    wfapi: bool = True
    timestamp: int = 1704067200000
    duration: int = 11000
    running_polls: int = 0  # a running build completes after this many progressiveText polls
    final_result: str = "FAILURE"
    url: str = ""
    _log: Log | None = None
    _visible: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def freestyle(self) -> bool:
        return self.freestyle_log is not None

    def log(self) -> Log:
        if self._log is None:
            self._log = self.freestyle_log if self.freestyle else _pipeline_log(self)
            if self.running_polls:
                self._visible = max(1, len(self._log.parts) - self.running_polls)
        return self._log

    def advance(self) -> None:
        """One poll of a running build's log: reveal the next part; the last one completes the build."""
        with self._lock:
            if self.result is not None or self._visible is None:
                return
            self._visible += 1
            if self._visible >= len(self.log().parts):
                self._visible = None
                self.result = self.final_result


def _pipeline_log(build: Build) -> Log:
    log = Log().line("Started by user admin").line("[Pipeline] Start of Pipeline", note=True)
    log.line("[Pipeline] node", note=True).line(f"Running on {build.node} in /home/jenkins/workspace/job")
    log.line("[Pipeline] {", note=True)
    node_id = 3
    failed = False
    for stage in build.stages:
        stage.id = str(node_id)
        node_id += 1
        log.line("[Pipeline] stage", note=True).line(f"[Pipeline] {{ ({stage.name})", note=True)
        if failed:
            log.line(f'Stage "{stage.name}" skipped due to earlier failure(s)')
        for step in stage.steps:
            step.id = str(node_id)
            node_id += 1
            log.line("[Pipeline] sh", note=True)
            if step.script:
                log.line(f"+ {step.script}")
            log.extend(step.log)
            failed = failed or step.status == "FAILED"
        log.line("[Pipeline] }", note=True).line("[Pipeline] // stage", note=True)
    log.line("[Pipeline] }", note=True).line("[Pipeline] // node", note=True)
    log.line("[Pipeline] End of Pipeline", note=True)
    if failed:
        log.line("ERROR: script returned exit code 1")
    log.line(f"Finished: {build.final_result if build.running_polls else build.result}")
    return log


def earthly_step(*, fail: bool, size: int = 0, version: str = "v0.8.15", herring_retry: bool = False, eol: bytes = b"\n") -> Log:
    """The output of `earthly +image`: version, progress filler of about `size` bytes, and the failure when `fail`."""
    log = Log().line(f"earthly version {version} 6e641c15d linux/amd64; Debian GNU/Linux 12", eol=eol)
    log.line("           buildkitd | Found buildkit daemon as docker container (earthly-buildkitd)", eol=eol)
    log.line("      registry-proxy | Starting registry proxy on 127.0.0.1:35137", eol=eol)
    log.extend(filler(size))
    log.line("              output | --> exporting outputs", eol=eol)
    if fail or herring_retry:
        for line in EARTHLY_FAILURE:
            log.line(line, eol=eol)
    if herring_retry:
        log.line("retrying with --disable-remote-registry-proxy", eol=eol)
        log.line("              output | [----------] 100% exporting outputs (tar)", eol=eol)
    return log


def pipeline_build(number: int, *, fail: bool = True, node: str = "agent-1", size: int = 0, version: str = "v0.8.15",
                   herring_retry: bool = False, wfapi: bool = True, running_polls: int = 0, eol: bytes = b"\n",
                   stage: str = "Image", timestamp: int | None = None) -> Build:
    """A typical Pipeline: a Checkout stage, then `stage` running `earthly +image` (failing when `fail`)."""
    checkout = Stage("Checkout", [Step("git", Log().line("Cloning the remote Git repository"), script="git fetch")])
    image = Step("sh", earthly_step(fail=fail, size=size, version=version, herring_retry=herring_retry, eol=eol),
                 status="FAILED" if fail else "SUCCESS", script="earthly +image")
    result = "FAILURE" if fail else "SUCCESS"
    return Build(
        number=number,
        result=None if running_polls else result,
        final_result=result,
        node=node,
        stages=[checkout, Stage(stage, [image], status="FAILED" if fail else "SUCCESS")],
        wfapi=wfapi,
        running_polls=running_polls,
        timestamp=timestamp if timestamp is not None else 1704067200000 + number * 3_600_000,
    )


@dataclass
class Job:
    full_name: str
    builds: dict[int, Build] = field(default_factory=dict)

    def add(self, build: Build) -> Build:
        self.builds[build.number] = build
        return build

    def resolve(self, ref: str) -> Build | None:
        if ref.isdigit():
            return self.builds.get(int(ref))
        pick = PERMALINKS.get(ref)
        if pick is None:
            return None
        return next((b for n, b in sorted(self.builds.items(), reverse=True) if pick(b)), None)


# ---------------------------------------------------------------------------------------------------- the server


class FakeJenkins:
    """Threaded HTTP server on 127.0.0.1:0. Use as a context manager; `url` is the root with a trailing slash."""

    def __init__(self, users: dict[str, str] | None = None, *, anonymous_read: bool = False, crumb: bool = True,
                 latency: float = 0.0, no_read: set[str] | None = None, context: str = "", gzip: bool = False,
                 tls: tuple[str, str] | None = None) -> None:
        self.users = dict(users or {})
        self.tls = tls  # (cert.pem, key.pem): serve HTTPS, as most Jenkins servers do (or a proxy in front of them)
        self.gzip = gzip  # gzip log bodies for clients that accept it, as Jenkins does above 4096 bytes
        self.no_read = set(no_read or ())  # users whose token is valid but who lack Overall/Read (403)
        self.anonymous_read = anonymous_read
        self.crumb = crumb
        self.latency = latency
        self.context = context.strip("/")
        self.jobs: dict[str, Job] = {}
        self.nodes: dict[str, list[str]] = {"Built-In Node": ["built-in"]}
        self.slow: dict[str, float] = {}  # regex on the path → seconds to wait before answering
        self.status: dict[str, int] = {}  # regex on the path → forced status code
        self.malformed: set[str] = set()  # regexes on the path whose JSON body is broken
        self.cut: set[str] = set()  # regexes on the path whose streamed body breaks off mid-way
        # Hostile servers. trickle: regex → (seconds between ticks, bytes sent at once before trickling starts;
        # 0 trickles the status line and headers too, AFTER_HEADERS only the body). huge: regex → size of a valid
        # JSON body sent lazily.
        # Both stop when the client hangs up, and a trickle after TRICKLE_LIMIT seconds (a test never hangs).
        self.trickle: dict[str, tuple[float, int, int]] = {}  # … and bytes per tick
        self.huge: dict[str, int] = {}
        # raw: regex on the path → bytes sent as the whole answer (status line included), then the connection closed.
        self.raw: dict[str, bytes] = {}
        self.bytes_sent: dict[str, int] = {}  # path → bytes of hostile bodies actually sent
        self.requests: list[tuple[str, str, bool]] = []  # (method, path?query, had Authorization)
        self.arrivals: list[tuple[float, str]] = []  # (time.monotonic() at arrival, path?query): what overlapped
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._port = 0
        self._thread: threading.Thread | None = None

    # -- setup

    def job(self, full_name: str) -> Job:
        return self.jobs.setdefault(full_name, Job(full_name))

    def node(self, name: str, labels: list[str]) -> None:
        self.nodes[name] = labels

    # -- lifecycle

    def __enter__(self) -> FakeJenkins:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"jenkins": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._port = self._server.server_address[1]  # kept: a slow handler may still answer after stop()
        if self.tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        root = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"
        return root + (self.context + "/" if self.context else "")

    def job_url(self, full_name: str) -> str:
        from urllib.parse import quote

        return self.url + "".join(f"job/{quote(part)}/" for part in full_name.split("/"))


TRICKLE_LIMIT = 120.0  # seconds: a trickling answer stops here even if the client never hangs up
AFTER_HEADERS = -1  # a trickle's `head`: the status line and headers go out at once, the body a byte at a time


class _Trickle:
    """Stands in for the handler's wfile: after the first `head` bytes, `step` bytes every `interval` seconds."""

    def __init__(self, raw: object, interval: float, head: int, step: int = 1) -> None:
        self.raw = raw
        self.interval = interval
        self.head = head
        self.step = max(1, step)
        self.sent = 0
        self.stop = time.monotonic() + TRICKLE_LIMIT

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        if self.head == AFTER_HEADERS and self.sent == 0:  # the handler writes the whole header block at once
            self.raw.write(data)  # type: ignore[attr-defined]
            self.sent = len(data)
            return len(data)
        if self.sent < self.head:
            now = view[: self.head - self.sent]
            self.raw.write(now)  # type: ignore[attr-defined]
            self.sent += len(now)
            view = view[len(now) :]
        for i in range(0, len(view), self.step):
            if time.monotonic() > self.stop:
                raise ConnectionResetError("trickle limit reached")
            piece = view[i : i + self.step]
            self.raw.write(piece)  # type: ignore[attr-defined]
            self.sent += len(piece)
            time.sleep(self.interval)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:  # closed, … of the handler's own wfile
        return getattr(self.raw, name)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Jenkins' Jetty listens with the JVM's default backlog: Jetty's `acceptQueueSize` defaults to 0, "the platform
    # default" (jetty/jetty.project `jetty-server/src/main/config/modules/http.mod`), and OpenJDK's
    # ServerSocketChannelImpl.bind does `Net.listen(fd, backlog < 1 ? 50 : backlog)`. socketserver's default of 5
    # made the kernel drop the SYNs of a burst of new connections, each a 1 s retransmit no Jenkins would cause.
    request_queue_size = 50

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-log (a tail read, a timeout test) is normal here, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    jenkins: FakeJenkins

    def log_message(self, *args: object) -> None:  # quiet: tests read `requests` instead
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle + delayed ACK add 40 ms to each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- plumbing

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html;charset=utf-8", headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Jenkins", VERSION)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: object, path: str) -> None:
        if any(re.search(p, path) for p in self.jenkins.malformed):
            return self._send(200, b'{"_class": "hudson.model.Broken", "oops', "application/json;charset=utf-8")
        self._send(200, json.dumps(data).encode(), "application/json;charset=utf-8")

    def _stream(self, chunks: Iterator[bytes], headers: dict | None = None) -> None:
        """Chunked transfer encoding, as Jenkins streams logs; the log is never held whole."""
        if any(re.search(p, self.path) for p in self.jenkins.cut):  # break off after the first chunk
            chunks = itertools.islice(chunks, 1)
            self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/plain;charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Jenkins", VERSION)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        packer = None
        if self.jenkins.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            self.send_header("Content-Encoding", "gzip")
            packer = zlib.compressobj(6, zlib.DEFLATED, 31)
        self.end_headers()
        try:
            for chunk in chunks:
                if chunk and packer is not None:
                    chunk = packer.compress(chunk)
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            tail = packer.flush() if packer is not None else b""
            if tail:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(tail), tail))
            if not self.close_connection:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _huge(self, size: int, path: str) -> None:
        """A JSON object of `size` bytes, made while sending (the server's memory stays flat)."""
        head, tail = b'{"_class": "hudson.model.FreeStyleProject", "description": "', b'"}'
        pad = b"x" * CHUNK
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(size))
        self.send_header("X-Jenkins", VERSION)
        self.end_headers()
        self.close_connection = True
        sent = 0
        try:
            self.wfile.write(head)
            sent = len(head)
            while sent < size - len(tail):
                piece = pad[: min(CHUNK, size - len(tail) - sent)]
                self.wfile.write(piece)
                sent += len(piece)
            self.wfile.write(tail)
            sent += len(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self.jenkins._lock:
                self.jenkins.bytes_sent[path] = self.jenkins.bytes_sent.get(path, 0) + sent

    def _auth(self) -> str | None:
        """The user, '' for anonymous, or None after answering 401/403."""
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, token = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, token = "", None
            if self.jenkins.users.get(user) != token:
                self._send(401, b"<html>Invalid password/token for user</html>", headers={"WWW-Authenticate": 'Basic realm="Jenkins"'})
                return None
            if user in self.jenkins.no_read:
                self._send(403, f"<html>{user} is missing the Overall/Read permission</html>".encode())
                return None
            return user
        if not self.jenkins.anonymous_read:
            self._send(403, b"<html>Authentication required</html>")
            return None
        return ""

    # -- routing

    def do_GET(self) -> None:
        j = self.jenkins
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        with j._lock:
            j.requests.append(("GET", self.path, "Authorization" in self.headers))
            j.arrivals.append((time.monotonic(), self.path))
        if j.latency:
            time.sleep(j.latency)
        for pattern, seconds in j.slow.items():
            if re.search(pattern, path):
                time.sleep(seconds)
        prefix = "/" + j.context if j.context else ""
        if not path.startswith(prefix + "/"):
            return self._send(404, b"<html>Not Found</html>")
        path = path[len(prefix):]
        if path == "/":
            if not j.anonymous_read and "Authorization" not in self.headers:
                return self._send(403, b"<html>Authentication required</html>")
        user = self._auth() if path != "/" else ""
        if user is None:
            return None
        for pattern, status in j.status.items():
            if re.search(pattern, path):
                return self._send(status, f"<html>Error {status}</html>".encode())
        for pattern, answer in j.raw.items():
            if re.search(pattern, path):
                self.close_connection = True
                self.wfile.write(answer)
                return None
        for pattern, size in j.huge.items():
            if re.search(pattern, path):
                return self._huge(size, path)
        for pattern, (interval, head, step) in j.trickle.items():
            if re.search(pattern, path):
                self.wfile = _Trickle(self.wfile, interval, head, step)  # type: ignore[assignment]
                self.close_connection = True
                break
        if path == "/":
            return self._send(200, b"<html>Dashboard [Jenkins]</html>")
        if path == "/crumbIssuer/api/json":
            if not j.crumb:
                return self._send(404, b"<html>Not Found</html>")
            return self._json({"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": "c0ffee" * 5,
                               "crumbRequestField": "Jenkins-Crumb"}, path)
        if path == "/me/api/json":
            uid = user or "anonymous"
            return self._json({"_class": "hudson.model.User", "absoluteUrl": f"{j.url}user/{uid}", "description": None,
                               "fullName": uid, "id": uid, "property": []}, path)
        if path == "/computer/api/json":
            return self._json(self._computers(), path)
        if path == "/api/json":  # the top-level object (python-jenkins' `get_info`, and its auth probe)
            return self._json({"_class": "hudson.model.Hudson", "mode": "NORMAL", "nodeDescription":
                               "the Jenkins controller's built-in node", "nodeName": "", "numExecutors": 0,
                               "jobs": [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": name,
                                         "url": j.job_url(name)} for name in sorted(j.jobs) if "/" not in name],
                               "useCrumbs": j.crumb, "useSecurity": True}, path)
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if segments and segments[0] == "job":
            return self._job_route(segments, query, path)
        return self._send(404, b"<html>Not Found</html>")

    def _computers(self) -> dict:
        return {"_class": "hudson.model.ComputerSet", "busyExecutors": 0, "displayName": "Nodes", "computer": [
            {"_class": "hudson.model.Hudson$MasterComputer" if name == "Built-In Node" else "hudson.slaves.SlaveComputer",
             "displayName": name, "assignedLabels": [{"name": label} for label in labels], "idle": True,
             "offline": False, "offlineCause": None, "temporarilyOffline": False, "description": ""}
            for name, labels in self.jenkins.nodes.items()]}

    def _job_route(self, segments: list[str], query: dict, path: str) -> None:
        j = self.jenkins
        names = []
        while len(segments) >= 2 and segments[0] == "job":
            names.append(segments[1])
            segments = segments[2:]
        full = "/".join(names)
        job = j.jobs.get(full)
        if job is None:
            folder = [name for name in j.jobs if name.startswith(full + "/")]
            if folder and segments == ["api", "json"]:
                return self._json(self._folder_json(full, folder), path)
            return self._send(404, b"<html>Not Found</html>")
        if segments == ["api", "json"]:
            return self._json(self._job_json(job, query), path)
        if not segments:
            return self._send(200, b"<html>job</html>")
        build = job.resolve(segments[0])
        if build is None:
            return self._send(404, b"<html>Not Found</html>")
        rest = [s for s in segments[1:] if s]
        if rest == ["api", "json"]:
            return self._json(self._build_json(job, build), path)
        log = build.log()
        if rest == ["consoleText"]:
            return self._stream(log.iter(raw=False, visible=build._visible))
        if rest == ["logText", "progressiveText"]:
            return self._progressive(build, log, query, visible=build._visible, running=build.result is None)
        if rest[:1] == ["wfapi"] and rest[1:] in ([], ["describe"]) and build.wfapi and not build.freestyle:
            return self._json(self._run_ext(job, build), path)
        if rest[:2] == ["execution", "node"] and len(rest) >= 3 and build.wfapi and not build.freestyle:
            return self._flow_node(job, build, rest[2], rest[3:], query, path)
        return self._send(404, b"<html>Not Found</html>")

    def _progressive(self, build: Build, log: Log, query: dict, *, visible: int | None, running: bool) -> None:
        start = int(query.get("start", ["0"])[0] or 0)
        size = log.size(visible)
        if start > size:  # Jenkins treats this as a rolled-over log and starts again from 0
            start = 0
        headers = {"X-Text-Size": str(size)}
        if running:
            headers["X-More-Data"] = "true"
        chunks = log.iter(start, visible=visible, crlf=True)
        self._stream(chunks, headers)
        if running:
            build.advance()

    def _folder_json(self, full: str, members: list[str]) -> dict:
        depth = full.count("/") + 1
        children = sorted({m.split("/")[depth] for m in members})
        return {"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": full.rsplit("/", maxsplit=1)[-1], "fullName": full,
                "url": self.jenkins.job_url(full), "jobs": [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                                                             "name": c, "url": self.jenkins.job_url(f"{full}/{c}"), "color": "red"} for c in children]}

    def _ref(self, job: Job, build: Build | None) -> dict | None:
        if build is None:
            return None
        return {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": build.number,
                "url": f"{self.jenkins.job_url(job.full_name)}{build.number}/"}

    def _job_json(self, job: Job, query: dict) -> dict:
        newest = [job.builds[n] for n in sorted(job.builds, reverse=True)]
        tree = query.get("tree", [""])[0]
        match = re.fullmatch(r"(allBuilds|builds)\[([\w,]*)\](?:\{(\d*),(\d*)\})?", tree)
        if match:  # `tree=allBuilds[number,result,…]{0,N}`: the chosen fields of a range of builds, newest first
            key, fields, lo, hi = match.groups()
            chosen = newest if key == "allBuilds" else newest[:100]
            chosen = chosen[int(lo or 0): int(hi) if hi else None]
            rows = [{f: v for f, v in self._build_json(job, b).items() if f in fields.split(",")} for b in chosen]
            return {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", key: rows}
        data = {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            "actions": [{}, {"_class": "org.jenkinsci.plugins.displayurlapi.actions.JobDisplayAction"}],
            "description": None, "displayName": job.full_name.split("/")[-1],
            "fullDisplayName": job.full_name.replace("/", " » "), "fullName": job.full_name,
            "name": job.full_name.split("/")[-1], "url": self.jenkins.job_url(job.full_name), "buildable": True,
            "builds": [self._ref(job, b) for b in newest[:100]],
            "color": "red" if newest and newest[0].result == "FAILURE" else "blue",
            "firstBuild": self._ref(job, newest[-1] if newest else None),
            "healthReport": [], "inQueue": False, "keepDependencies": False,
            "nextBuildNumber": (newest[0].number + 1) if newest else 1, "property": [], "queueItem": None,
        }
        for link in PERMALINKS:
            data[link] = self._ref(job, job.resolve(link))
        return data

    def _build_json(self, job: Job, build: Build) -> dict:
        running = build.result is None
        cls = "hudson.model.FreeStyleBuild" if build.freestyle else "org.jenkinsci.plugins.workflow.job.WorkflowRun"
        data = {
            "_class": cls,
            "actions": [{"_class": "hudson.model.CauseAction", "causes": [{"_class": "hudson.model.Cause$UserIdCause",
                         "shortDescription": "Started by user admin", "userId": "admin", "userName": "admin"}]},
                        {}, {"_class": "org.jenkinsci.plugins.workflow.cps.EnvActionImpl"}, {}, {}],
            "artifacts": [], "building": running, "description": None, "displayName": f"#{build.number}",
            "duration": 0 if running else build.duration, "estimatedDuration": build.duration,
            "executor": {"_class": "hudson.model.OneOffExecutor"} if running else None,
            "fullDisplayName": f"{job.full_name.replace('/', ' » ')} #{build.number}", "id": str(build.number),
            "keepLog": False, "number": build.number, "queueId": 4000 + build.number, "result": build.result,
            "timestamp": build.timestamp, "url": f"{self.jenkins.job_url(job.full_name)}{build.number}/",
            "inProgress": running, "nextBuild": None, "previousBuild": None,
        }
        if build.freestyle:
            data["builtOn"] = "" if build.node == "Built-In Node" else build.node
            data["changeSet"] = {"items": [], "kind": None}
        else:
            data["changeSets"] = []
        return data

    def _stage_json(self, job: Job, build: Build, stage: Stage) -> dict:
        base = f"/{self.jenkins.context + '/' if self.jenkins.context else ''}job/{job.full_name}/{build.number}"
        data = {"_links": {"self": {"href": f"{base}/execution/node/{stage.id}/wfapi/describe"}}, "id": stage.id,
                "name": stage.name, "execNode": "" if build.node == "Built-In Node" else build.node,
                "status": "IN_PROGRESS" if build.result is None and stage is build.stages[-1] else stage.status,
                "startTimeMillis": build.timestamp, "durationMillis": 5030, "pauseDurationMillis": 0}
        if stage.status == "FAILED":
            data["error"] = {"message": "script returned exit code 1", "type": "hudson.AbortException"}
        return data

    def _run_ext(self, job: Job, build: Build) -> dict:
        build.log()  # assigns flow-node ids
        status = {None: "IN_PROGRESS", "FAILURE": "FAILED"}.get(build.result, build.result)
        return {"_links": {"self": {"href": f"/job/{job.full_name}/{build.number}/wfapi/describe"}},
                "id": str(build.number), "name": f"#{build.number}", "status": status,
                "startTimeMillis": build.timestamp, "endTimeMillis": build.timestamp + build.duration,
                "durationMillis": build.duration, "queueDurationMillis": 12, "pauseDurationMillis": 0,
                "stages": [self._stage_json(job, build, s) for s in build.stages]}

    def _flow_node(self, job: Job, build: Build, node_id: str, rest: list[str], query: dict, path: str) -> None:
        build.log()
        for stage in build.stages:
            if stage.id == node_id and rest == ["wfapi", "describe"]:
                data = self._stage_json(job, build, stage)
                data["stageFlowNodes"] = [
                    {"_links": {"self": {"href": f"/execution/node/{s.id}/wfapi/describe"},
                                "log": {"href": f"/execution/node/{s.id}/wfapi/log"}},
                     "id": s.id, "name": "Shell Script", "execNode": "", "status": s.status,
                     "parameterDescription": s.script, "parentNodes": [stage.id], "startTimeMillis": build.timestamp,
                     "durationMillis": 100, "pauseDurationMillis": 0,
                     **({"error": {"message": "script returned exit code 1", "type": "hudson.AbortException"}}
                        if s.status == "FAILED" else {})}
                    for s in stage.steps]
                return self._json(data, path)
            for step in stage.steps:
                if step.id != node_id:
                    continue
                if rest == ["wfapi", "log"]:
                    size = step.log.size()
                    tail = b"".join(step.log.iter(max(0, size - 10240), raw=False))
                    text = html.escape(tail.decode("utf-8", "replace"), quote=False)
                    return self._json({"nodeId": step.id, "nodeStatus": step.status, "length": min(size, 10240),
                                       "hasMore": size > 10240, "text": text,
                                       "consoleUrl": f"/job/{job.full_name}/{build.number}/execution/node/{step.id}/log"}, path)
                if rest == ["log", "logText", "progressiveText"]:
                    return self._progressive(build, step.log, query, visible=None, running=False)
        self._send(404, b"<html>Not Found</html>")


# ---------------------------------------------------------------------------------------------------- bench mode


def bench_server(builds: int, mb: float, latency_ms: float) -> FakeJenkins:
    """The benchmark's Jenkins: `builds` failing Pipeline builds of about `mb` MB each on four nodes."""
    server = FakeJenkins({"bench": "bench-token-0123456789"}, latency=latency_ms / 1000)
    for i in range(4):
        server.node(f"agent-{i}", ["linux", "docker", f"pool-{i % 2}"])
    job = server.job("bench/earthly")
    for n in range(1, builds + 1):
        job.add(pipeline_build(n, fail=n % 10 != 0, node=f"agent-{n % 4}", size=int(mb * 1_000_000)))
    return server


def main(argv: list[str]) -> int:
    if argv[:1] != ["--bench"] or len(argv) != 4:
        sys.stderr.write("usage: python -m tests.harness.fake_jenkins --bench BUILDS MB LATENCY_MS\n")
        return 2
    server = bench_server(int(argv[1]), float(argv[2]), float(argv[3]))
    with server:
        sys.stdout.write(f"{server.port}\n")
        sys.stdout.flush()
        sys.stdin.read()  # serve until the parent closes our stdin (or dies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
