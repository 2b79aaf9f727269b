"""One HTTP/1.1 GET framed here, on a connection from urllib3's pool (the pool requests set up for the server).

urllib3 and http.client cost about 1 ms of CPU per request (URL parsing, header objects, an email parser for the
headers) and some 30 µs per body read in their layers of wrappers; a 200-build triage makes ~560 requests and
~10 000 reads on a machine whose two cores it shares with the server. Here a request is one `sendall`, the answer's
head one `find` over what the socket returned, and the body is read straight off the socket. The connection itself
(TCP, TLS, certificate checks, socket options) is still urllib3's: it is taken from and given back to the pool,
so kept-alive connections are shared with the requests made through requests.

Errors come out as urllib3's exception types (and `OSError`), so `bounded.as_requests_error` words them as before.
Only what a Jenkins answer to a GET can be is framed: `Content-Length`, `Transfer-Encoding: chunked` or a body to
the connection's end; `Content-Encoding` gzip, deflate or none (`Accept-Encoding` asks for no other).
"""

from __future__ import annotations

import http.client
import ssl
import zlib
from typing import Any
from urllib.parse import quote, urlsplit

from urllib3 import exceptions as u3

ACCEPT_ENCODING = "gzip, deflate"
MAX_HEAD = 64 * 1024  # bytes of status line and headers; more is not an HTTP server talking
MAX_LINE = 4 * 1024  # bytes of one chunk-size line (with extensions) or trailer line
RECV = 64 * 1024  # bytes asked of the socket at once (per thread in flight: 256 KiB cost 7 MiB of RSS for no speed)


class Headers:
    """An answer's headers by case-insensitive name; a repeated header's values joined with ", " (as
    http.client does)."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        key = name.lower()
        self._items[key] = f"{self._items[key]}, {value}" if key in self._items else value

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items


class _Decoder:
    """gzip (members one after another, as urllib3 allows) or deflate (zlib-wrapped, else raw, as urllib3 guesses),
    giving at most `limit` bytes a call so a small compressed read cannot turn into a huge one in memory."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._gzip = coding == "gzip"
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)
        self._first = not self._gzip  # deflate: the first data tells zlib-wrapped from raw
        self._seen = b""
        self._pending = b""  # compressed bytes held back by `limit`
        self._full = False  # the last call gave `limit` bytes: zlib may hold more

    @property
    def waiting(self) -> bool:
        """More output may come without more input."""
        return bool(self._pending) or self._full

    def decode(self, data: bytes, limit: int) -> bytes:
        data = self._pending + data
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error as exc:
            if not self._first:
                raise u3.DecodeError(f"Received response with content-encoding: {self.coding}, but failed to decode "
                                     "it.", exc) from None
            self._first, self._pending = False, b""
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.decode(self._seen + data, limit)
        if self._first:
            self._seen = b"" if out else self._seen + data
            self._first = not out
        self._full = len(out) >= limit
        if self._obj.eof:  # what follows the stream is in unused_data (unconsumed_tail may repeat it)
            self._pending = self._obj.unused_data if self._gzip else b""
            if self._pending:  # a further gzip member
                self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            self._pending = self._obj.unconsumed_tail
        return out


class Response:
    """An answer read straight off the connection's socket: `status`, `headers`, then `read1` until b""."""

    def __init__(self, pool: Any, conn: Any, url: str) -> None:
        self.pool = pool
        self.connection = conn
        self.url = url
        self.status = 0
        self.headers = Headers()
        self._data = b""  # received and not consumed yet, from `_pos`
        self._pos = 0
        self._mode = "none"  # none | length | chunked | close
        self._left = 0  # bytes left of the body (length) or of the current chunk (chunked)
        self._crlf = False  # a chunk's data was read; its CRLF not yet
        self._reusable = True
        self._done = False
        self._given_back = False
        self._decoder: _Decoder | None = None

    # -- the socket

    def _fill(self) -> bool:
        """More bytes from the socket into the buffer; False at the connection's end."""
        try:
            more = self.connection.sock.recv(RECV)
        except TimeoutError:
            raise u3.ReadTimeoutError(self.pool, self.url, "Read timed out.") from None
        except ssl.SSLError as exc:
            raise u3.SSLError(exc) from None
        if not more:
            return False
        rest = len(self._data) - self._pos
        self._data = self._data[self._pos:] + more if rest else more
        self._pos = 0
        return True

    def _line(self, what: str) -> bytes:
        while True:
            end = self._data.find(b"\n", self._pos)
            if end >= 0:
                line = self._data[self._pos:end]
                self._pos = end + 1
                return line.rstrip(b"\r")
            if len(self._data) - self._pos > MAX_LINE:
                raise u3.ProtocolError(f"Connection broken: {what} line too long")
            if not self._fill():
                raise u3.ProtocolError(f"Connection broken: IncompleteRead (no {what})")

    # -- the head

    def read_head(self, *, reused: bool) -> None:
        while True:
            end = self._head_end()
            while end < 0:
                if len(self._data) - self._pos > MAX_HEAD:
                    raise u3.ProtocolError("Connection aborted.", http.client.LineTooLong("header line"))
                if not self._fill():
                    if not self._data and reused:
                        raise _Stale
                    raise u3.ProtocolError("Connection aborted.", http.client.RemoteDisconnected(
                        "Remote end closed connection without response"))
                end = self._head_end()
            head = self._data[self._pos:end].decode("latin-1")
            self._pos = _after_blank_line(self._data, end)
            lines = head.replace("\r\n", "\n").split("\n")
            version, _, rest = lines[0].partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/") or not (code.isascii() and code.isdigit()):  # "²" is a digit to isdigit
                raise u3.ProtocolError("Connection aborted.", http.client.BadStatusLine(lines[0]))
            if 100 <= int(code) < 200:  # an interim answer (100 Continue): the real one follows
                continue
            self.status = int(code)
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep and name and name == name.strip():
                    self.headers.add(name, value.strip())
            self._frame(version)
            return

    def _head_end(self) -> int:
        """Where the blank line after the headers starts (CRLF or bare LF line ends), or -1."""
        crlf = self._data.find(b"\r\n\r\n", self._pos)
        lf = self._data.find(b"\n\n", self._pos)
        ends = [e for e in (crlf, lf) if e >= 0]
        return min(ends) if ends else -1

    def _frame(self, version: str) -> None:
        headers = self.headers
        connection = (headers.get("connection") or "").lower()
        self._reusable = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
        coding = (headers.get("content-encoding") or "identity").strip().lower()
        if coding in ("gzip", "x-gzip", "deflate"):
            self._decoder = _Decoder("deflate" if coding == "deflate" else "gzip")
        elif coding != "identity":
            raise u3.DecodeError(f"Received response with content-encoding: {coding}, which is not supported.")
        length = headers.get("content-length")
        if self.status in (204, 304):
            self._mode = "none"
        elif "chunked" in (headers.get("transfer-encoding") or "").lower():
            self._mode = "chunked"
        elif length is not None:
            try:
                self._left = int(length.split(",")[0])
            except ValueError:
                raise u3.ProtocolError(f"Connection aborted: bad Content-Length {length!r}") from None
            self._mode = "length" if self._left > 0 else "none"
        else:
            self._mode, self._reusable = "close", False
        if self._mode == "none":
            self._finish()

    # -- the body

    def read1(self, amt: int = 64 * 1024, decode_content: bool = True) -> bytes:
        """At most about `amt` bytes of the (decoded) body, from one socket read at most; b"" at its end."""
        decoder = self._decoder if decode_content else None
        while True:
            if decoder is not None and decoder.waiting:
                out = decoder.decode(b"", amt)
                if out:
                    return out
            data = self._raw(amt)
            if decoder is None or not data:
                return data
            out = decoder.decode(data, amt)
            if out:
                return out

    def _raw(self, amt: int) -> bytes:
        """Up to `amt` body bytes: what one socket read brought, across as many HTTP chunks as it holds (a server's
        small chunks would otherwise cost every layer above a call each)."""
        if self._done:
            return b""
        if self._mode == "close":
            if self._pos >= len(self._data) and not self._fill():
                self._finish()
                return b""
            data = self._data[self._pos:self._pos + amt]
            self._pos += len(data)
            return data
        pieces: list[bytes] = []
        want = amt
        while want > 0:
            if self._left == 0 and (self._mode == "length" or (pieces and not self._size_line_in_hand())
                                    or not self._next_chunk()):
                break
            if self._pos >= len(self._data):
                if pieces:
                    break
                if not self._fill():
                    raise u3.ProtocolError("Connection broken: IncompleteRead", http.client.IncompleteRead(b""))
            n = min(want, len(self._data) - self._pos, self._left)
            pieces.append(self._data[self._pos:self._pos + n])
            self._pos += n
            self._left -= n
            want -= n
            if self._left == 0:
                if self._mode == "length":
                    self._finish()
                    break
                self._crlf = True
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _size_line_in_hand(self) -> bool:
        """The next chunk-size line (after the last chunk's CRLF) is already received: no wait on the socket."""
        start = self._pos
        if self._crlf:
            start = self._data.find(b"\n", start) + 1
            if not start:
                return False
        return self._data.find(b"\n", start) >= 0

    def _next_chunk(self) -> bool:
        """The next chunk's size into `_left`; False (and the trailers read) at the last chunk."""
        data, pos = self._data, self._pos
        if self._crlf and data.startswith(b"\r\n", pos):  # the common case: CRLF and size line already received
            end = data.find(b"\r\n", pos + 2, pos + 2 + MAX_LINE)
            if end > pos + 2 and data[end - 1] != 0x3B:  # not `;`: no chunk extension
                try:
                    size = int(data[pos + 2:end], 16)
                except ValueError:
                    size = 0
                if size > 0:
                    self._pos, self._crlf, self._left = end + 2, False, size
                    return True
        if self._crlf:
            if self._line("chunk end"):
                raise u3.ProtocolError("Connection broken: no CRLF after a chunk")
            self._crlf = False
        line = self._line("chunk size")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise u3.ProtocolError(f"Connection broken: InvalidChunkLength(got length {line[:20]!r})") from None
        if size < 0:
            raise u3.ProtocolError("Connection broken: negative chunk length")
        if size:
            self._left = size
            return True
        for _ in range(100):  # trailers, up to the blank line; bounded like any loop over what a server sends
            if not self._line("trailer"):
                break
        else:
            raise u3.ProtocolError("Connection broken: too many trailers")
        self._finish()
        return False

    # -- the connection

    def _finish(self) -> None:
        """The body is complete: the connection goes back to the pool when nothing more is on it."""
        self._done = True
        if self._reusable and self._pos >= len(self._data):
            self._give_back(self.connection)
        else:
            self.close()

    def _give_back(self, conn: Any) -> None:
        if not self._given_back:
            self._given_back = True
            self.pool._put_conn(conn)  # noqa: SLF001 -- urllib3's pool has no public put

    def close(self) -> None:
        """Drop the connection (a body not read to its end leaves it mid-message); its slot goes back empty."""
        if self._given_back:
            return
        self._done = True
        try:
            self.connection.close()
        finally:
            self._give_back(None)

    def release_conn(self) -> None:
        if not self._done:
            self.close()


class _Stale(Exception):
    """A kept-alive connection the server had closed before our request reached it: ask again on a new one."""


def _after_blank_line(data: bytes, end: int) -> int:
    return end + (4 if data.startswith(b"\r\n\r\n", end) else 2)


def request(pool: Any, url: str, headers: dict[str, str], *, connect_timeout: float, read_timeout: float,
            on_sent: Any = None) -> Response:
    """Send a GET of `url` on a connection from `pool` and read the answer's head; `on_sent(sock)` is called once
    the request is out (to watch the socket while the answer is awaited)."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not target.isascii() or any(c in target for c in " \t\r\n\x00"):
        target = quote(target, safe="/:?=&%;,+@!$'()*~[]")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    if parts.port and parts.port != default:
        host += f":{parts.port}"
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    for attempt in (1, 2):
        conn = pool._get_conn()  # noqa: SLF001 -- urllib3's pool has no public get
        reused = conn.sock is not None
        response = Response(pool, conn, url)
        try:
            if not reused:
                conn.timeout = connect_timeout
                try:
                    conn.connect()
                except ssl.SSLError as exc:
                    raise u3.SSLError(exc) from None
                except TimeoutError:
                    raise u3.ConnectTimeoutError(conn, f"Connection to {host} timed out.") from None
            conn.sock.settimeout(read_timeout)
            try:
                conn.sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                if reused and attempt == 1:
                    raise _Stale from None
                raise
            if on_sent is not None:
                on_sent(conn.sock)
            response.read_head(reused=reused and attempt == 1)
        except _Stale:
            response.close()
            continue
        except BaseException:
            response.close()
            raise
        return response
    raise u3.ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed twice"))  # pragma: no cover
