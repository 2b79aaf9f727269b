"""The proof (DESIGN §4): can the Docker daemon reach a port on *our* loopback?

A tiny registry listens on 127.0.0.1:0 in this process's network namespace. We ask the daemon to pull
`127.0.0.1:<port>/earthly-doctor-probe/<nonce>:x`. If the listener sees the nonce, the daemon shares our
loopback; if the daemon answers `connect: connection refused`, it does not: Earthly's exact failure.
Nothing is ever pulled: the listener 404s every manifest.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROBE_REPO = "earthly-doctor-probe"


@dataclass
class Hit:
    method: str
    path: str
    tls: bool = False  # the daemon spoke TLS first: 127.0.0.0/8 is not an insecure registry there


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def handle(self) -> None:
        try:
            first = self.request.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":  # a TLS ClientHello: reached us, but over HTTPS
            self.server.record(Hit("TLS", "", tls=True))
            return
        super().handle()

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.record(Hit(self.command, self.path))
        if self.path.rstrip("/") == "/v2":
            self._reply(200, {})
        else:
            self._reply(404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "earthly-doctor canary: nothing to pull"}]})

    do_HEAD = do_GET  # noqa: N815 -- http.server's method name

    def log_message(self, format: str, *args: Any) -> None:  # keep the user's terminal clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[Hit] = []
        self._lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up early (the daemon giving up, a TLS probe) is normal here, not worth a traceback.
        pass

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)


class CanaryRegistry:
    """Context manager: a registry on 127.0.0.1:<free port>, closed on exit."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(8)
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def repository(self) -> str:
        return f"127.0.0.1:{self.port}/{PROBE_REPO}/{self.nonce}"

    @property
    def hits(self) -> list[Hit]:
        return list(self._server.hits)

    def nonce_seen(self) -> bool:
        return any(self.nonce in h.path for h in self._server.hits)

    def __enter__(self) -> CanaryRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class PullAttempt:
    """What the daemon said when asked to pull from a loopback address."""

    reference: str
    outcome: str  # refused | reached | timeout | error
    daemon_error: str | None = None
    elapsed_ms: int = 0


def classify_daemon_error(text: str, port: int) -> str:
    lowered = text.lower()
    if f"127.0.0.1:{port}: connect: connection refused" in lowered or (
        "connection refused" in lowered and f":{port}" in lowered
    ):
        return "refused"
    if "deadline exceeded" in lowered or "timeout" in lowered or "timed out" in lowered:
        return "timeout"
    if "manifest unknown" in lowered or "not found" in lowered or "manifest for" in lowered:
        return "reached"
    return "error"


def ask_daemon_to_pull(client: Any, host: str, port: int, repo: str, tag: str, timeout: float) -> PullAttempt:
    """POST /images/create for `host:port/repo:tag`; nothing changes on the daemon when the registry 404s."""
    reference = f"{host}:{port}/{repo}:{tag}"
    began = time.monotonic()
    errors: list[str] = []
    previous = getattr(client, "timeout", None)
    try:
        client.timeout = timeout
        for event in client.pull(f"{host}:{port}/{repo}", tag=tag, stream=True, decode=True):
            if isinstance(event, dict) and event.get("error"):
                errors.append(str(event["error"]))
    except Exception as exc:  # noqa: BLE001 -- APIError (a 4xx/5xx with the daemon's text) or a transport timeout
        explanation = getattr(exc, "explanation", None)
        errors.append(str(explanation or exc))
        if explanation is None and ("timed out" in str(exc).lower() or isinstance(exc, TimeoutError)):
            return PullAttempt(reference, "timeout", str(exc), int((time.monotonic() - began) * 1000))
    finally:
        if previous is not None:
            client.timeout = previous
    elapsed = int((time.monotonic() - began) * 1000)
    if not errors:
        # The daemon claims success: something answered with an image. Only possible on a live registry.
        return PullAttempt(reference, "reached", None, elapsed)
    text = " | ".join(errors)
    return PullAttempt(reference, classify_daemon_error(text, port), text, elapsed)


@dataclass
class CanaryResult:
    port: int
    nonce: str
    nonce_seen: bool
    attempt: PullAttempt
    hits: list[Hit] = field(default_factory=list)

    @property
    def tls_only(self) -> bool:
        return any(h.tls for h in self.hits) and not self.nonce_seen

    @property
    def reachable(self) -> bool | None:
        """True: proven (our listener saw the daemon). False: proven (daemon refused). None: undecided."""
        if self.nonce_seen or self.hits:
            return True
        if self.attempt.outcome == "refused":
            return False
        return None


TLS_GRACE = 1.0  # seconds to wait for the daemon's own answer once it has spoken TLS to the canary


def run_canary(client: Any, timeout: float) -> CanaryResult:
    """The canary pull. A daemon that speaks TLS to it has answered the question already: Podman 4.3 then retries
    the pull for 3.5-6 s (8 handshakes, measured), so after TLS_GRACE the result is taken without its last word."""
    with CanaryRegistry() as canary:
        repo = f"{PROBE_REPO}/{canary.nonce}"
        box: list[PullAttempt] = []
        worker = threading.Thread(target=lambda: box.append(ask_daemon_to_pull(client, "127.0.0.1", canary.port, repo,
                                                                                "x", timeout)), daemon=True)
        began = time.monotonic()
        worker.start()
        first_tls: float | None = None
        # The pull bounds itself (a read timeout per answer); this bound only guards against a daemon that trickles.
        while worker.is_alive() and time.monotonic() - began < max(30.0, 3 * timeout):
            worker.join(0.05)
            if first_tls is None and any(h.tls for h in list(canary.hits)):
                first_tls = time.monotonic()
            if first_tls is not None and not canary.nonce_seen() and time.monotonic() - first_tls >= TLS_GRACE:
                break
        if box:
            attempt = box[0]
        else:
            elapsed = int((time.monotonic() - began) * 1000)
            reference = f"127.0.0.1:{canary.port}/{repo}:x"
            attempt = (PullAttempt(reference, "error", "the daemon answered the plain-HTTP canary only with TLS "
                                   "handshakes (its retries were not waited for)", elapsed) if first_tls is not None
                       else PullAttempt(reference, "timeout", f"no answer within {timeout:g}s", elapsed))
        return CanaryResult(canary.port, canary.nonce, canary.nonce_seen(), attempt, list(canary.hits))
