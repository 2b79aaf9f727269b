"""`jenkins.wire` frames HTTP/1.1 answers itself: these tests send it, over real loopback sockets, the byte streams a
server may write (Content-Length, chunked in any split, chunk extensions and trailers, a body to the connection's
end, gzip in several members, raw and zlib-wrapped deflate, an interim 100 answer, bare-LF headers) and the broken
ones (a bad chunk size, a connection cut mid-body, a kept-alive connection the server closed meanwhile). The
scripted server below answers each request with the next canned byte string, split into the pieces given."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator

import pytest
import urllib3
from earthly_doctor.jenkins import wire
from earthly_doctor.jenkins.bounded import as_requests_error
from requests import exceptions as rex
from urllib3 import exceptions as u3

HEADERS = {"User-Agent": "test", "Accept-Encoding": wire.ACCEPT_ENCODING}


class Scripted:
    """A loopback server: each accepted connection answers its requests with the next scripts in order; a script is
    (pieces, close_after). `requests` holds each request's head as received."""

    def __init__(self, scripts: list[tuple[list[bytes], bool]]) -> None:
        self.scripts = list(scripts)
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.scripts:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                self._talk(conn)

    def _talk(self, conn: socket.socket) -> None:
        buf = b""
        while self.scripts:
            while b"\r\n\r\n" not in buf:
                more = conn.recv(65536)
                if not more:
                    return
                buf += more
            head, _, buf = buf.partition(b"\r\n\r\n")
            self.requests.append(head)
            pieces, close = self.scripts.pop(0)
            for i, piece in enumerate(pieces):
                conn.sendall(piece)
                if i % 50 == 0:
                    time.sleep(0.001)  # the client sees the answer arrive in parts, cut where the split cut it
            if close:
                return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[Scripted] = []

    def start(*scripts: tuple[list[bytes], bool]) -> tuple[Scripted, urllib3.HTTPConnectionPool]:
        server = Scripted(list(scripts))
        servers.append(server)
        return server, urllib3.HTTPConnectionPool("127.0.0.1", server.port, maxsize=2)

    yield start
    for server in servers:
        server.close()


def get(pool: urllib3.HTTPConnectionPool, path: str = "/x", amt: int = 65536) -> tuple[wire.Response, bytes]:
    response = wire.request(pool, f"http://127.0.0.1:{pool.port}{path}", HEADERS, connect_timeout=5,
                            read_timeout=5)
    body = bytearray()
    while piece := response.read1(amt):
        assert len(piece) <= amt
        body += piece
    return response, bytes(body)


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def chunked(body: bytes, size: int, *, extension: bytes = b"", trailer: bytes = b"") -> bytes:
    out = b"".join(b"%x%s\r\n%s\r\n" % (len(c), extension, c) for c in split(body, size))
    return out + b"0\r\n" + trailer + b"\r\n"


BODY = b"".join(b"[2024-01-22T23:20:55.244Z] line %05d of the log\n" % i for i in range(3000))


def test_content_length_body_and_the_connection_kept_for_the_next_request(serve):
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Text-Size: 42\r\n\r\n%s" % (len(BODY), BODY)
    server, pool = serve((split(answer, 7000), False), (split(answer, 50_000), False))
    first, body = get(pool, "/job/a%20b/1/logText/progressiveText?start=0")
    assert body == BODY and first.status == 200
    assert first.headers.get("x-text-size") == "42" and first.headers["X-TEXT-SIZE"] == "42"
    assert get(pool)[1] == BODY
    assert server.connections == 1  # the first answer's connection went back to the pool and was used again
    request = server.requests[0].decode()
    assert request.startswith("GET /job/a%20b/1/logText/progressiveText?start=0 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{pool.port}" in request and "User-Agent: test" in request


@pytest.mark.parametrize(("size", "lines"), [(1, 60), (5, 300), (4096, 3000), (70_000, 3000)])
def test_chunked_body_whatever_the_split(serve, size, lines):
    body = BODY[: lines * len(BODY) // 3000]
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              + chunked(body, 1000, extension=b";name=value", trailer=b"X-Trailer: 1\r\n"))
    plain = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body, 777)
    server, pool = serve((split(answer, size), False), (split(plain, size), False))
    assert get(pool, amt=3000)[1] == body
    assert get(pool)[1] == body
    assert server.connections == 1  # trailers and the final CRLF read: the connection was whole for the next one


def test_body_to_the_end_of_the_connection(serve):
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY
    server, pool = serve((split(answer, 3333), True), ([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], False))
    assert get(pool)[1] == BODY
    assert get(pool)[1] == b"ok"
    assert server.connections == 2  # a body that ends with its connection leaves none to keep


def test_gzip_in_two_members_and_both_kinds_of_deflate(serve):
    two = gzip.compress(BODY[:50_000]) + gzip.compress(BODY[50_000:])
    wrapped, raw = zlib.compress(BODY), zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw_body = raw.compress(BODY) + raw.flush()
    answers = [(b"gzip", two), (b"deflate", wrapped), (b"deflate", raw_body)]
    _, pool = serve(*[(split(b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s"
                              % (coding, len(data), data), 1000), False) for coding, data in answers])
    for _ in answers:
        assert get(pool, amt=1024)[1] == BODY  # never more than asked for, however well it compressed


def test_interim_answer_bare_lf_headers_and_repeated_headers(serve):
    answer = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\nSet-Cookie: a=1\nSet-Cookie: b=2\n"
              b"Content-Length: 2\n\nok")
    _, pool = serve(([answer], False))
    response, body = get(pool)
    assert (response.status, body) == (200, b"ok")
    assert response.headers.get("set-cookie") == "a=1, b=2"


def test_a_kept_alive_connection_the_server_closed_is_replaced_once(serve):
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server, pool = serve(([ok], True), ([ok], False))  # the server hangs up after its first answer, unannounced
    assert get(pool)[1] == b"ok"
    time.sleep(0.05)
    assert get(pool)[1] == b"ok"  # the pooled connection was dead: asked again on a new one
    assert server.connections == 2


@pytest.mark.parametrize(("answer", "expected"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", rex.ChunkedEncodingError),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly part", rex.ChunkedEncodingError),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", rex.ChunkedEncodingError),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!", rex.ContentDecodingError),
], ids=["bad-chunk-size", "cut-mid-chunk", "cut-short-of-length", "not-gzip"])
def test_broken_bodies_raise_what_requests_would(serve, answer, expected):
    _, pool = serve(([answer], True))
    with pytest.raises((u3.HTTPError, OSError)) as info:
        get(pool)
    assert isinstance(as_requests_error(info.value, body=True), expected)


def test_no_answer_at_all_is_a_remote_disconnect(serve):
    _, pool = serve(([], True))
    with pytest.raises(u3.ProtocolError) as info:
        get(pool)
    error = as_requests_error(info.value)
    assert isinstance(error, rex.ConnectionError) and "RemoteDisconnected" in str(error)


def test_a_silent_server_is_a_read_timeout(serve):
    server = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel does) and never answers
    try:
        pool = urllib3.HTTPConnectionPool("127.0.0.1", server.getsockname()[1])
        began = time.monotonic()
        with pytest.raises(u3.ReadTimeoutError):
            wire.request(pool, f"http://127.0.0.1:{pool.port}/x", HEADERS, connect_timeout=5, read_timeout=0.3)
        assert time.monotonic() - began < 3
    finally:
        server.close()
