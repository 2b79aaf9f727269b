"""The Jenkins client: python-jenkins for auth, whoami and JSON; the same authenticated session for streamed logs.

Facts it relies on (research/jenkins.md §1): python-jenkins sends Basic auth pre-emptively and fetches a crumb
before the first call unless told there is none (this client only GETs, and Jenkins checks crumbs on POSTs only);
`get_version` goes out without credentials until auth is resolved, so `whoami` goes first;
401/403/500 arrive as `JenkinsException("… [401] …")`, 404 as `NotFoundException`, other statuses as a bare
`requests.HTTPError`, while refused connections, TLS errors and read timeouts inside a streamed body are plain
`requests` exceptions. `translate` turns every one of them into a single-line `JenkinsError`.
Credentials come from JENKINS_URL / JENKINS_USER / JENKINS_API_TOKEN or a netrc entry for the host; the token is
never put on a command line, in a message or in a report.
Once `whoami` has resolved auth, JSON and log requests skip python-jenkins and requests' session and
go straight to the connection pool requests set up for the server, with the headers it would send (`_direct`): the
same bounds, the same errors, half a millisecond less CPU per request, which a 200-build triage makes 560 of.
"""

from __future__ import annotations

import json
import logging
import netrc
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Mapping, cast
from urllib.parse import SplitResult, quote, unquote, urlencode, urlsplit, urlunsplit

from earthly_doctor.errors import DoctorError, UsageError
from earthly_doctor.jenkins import WORKERS

CHUNK = 64 * 1024
PERMALINKS = ("lastFailedBuild", "lastBuild", "lastCompletedBuild", "lastSuccessfulBuild", "lastStableBuild",
              "lastUnsuccessfulBuild", "lastUnstableBuild")
BUILD_TREE = "number,result,building,timestamp,duration,url,builtOn,_class"


# Error kinds that make every further call pointless: stop the whole run rather than report each build.
FATAL = frozenset({"auth", "forbidden", "refused", "tls", "dns", "not-jenkins"})


class JenkinsError(DoctorError):
    """One clear line about a Jenkins call that failed; `kind` says which way (auth, not-found, timeout, …)."""

    def __init__(self, message: str, kind: str = "error", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class Credentials:
    url: str  # the root URL, with a trailing slash and without any user:password part
    user: str | None = None
    token: str | None = field(default=None, repr=False)
    source: str = "anonymous"  # environment | netrc | url | anonymous


@dataclass(frozen=True)
class Target:
    """What to triage: a job's full name (folders joined by `/`, `%2F` kept) and a build number or permalink."""

    root: str | None
    job: str
    build: str | None = None


def parse_target(text: str) -> Target:
    """`JOB`, `folder/JOB`, or a build/job URL (`https://ci/job/f/job/repo/job/feature%252Fx/42/`)."""
    if "://" not in text:
        if not text.strip("/"):
            raise UsageError("no job name given")
        return Target(None, text.strip("/"))
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError as exc:  # a broken IPv6 literal or port: bad input, not our bug
        raise UsageError(f"{_display_url(text)} is not a valid URL ({exc})") from None
    segments = parts.path.split("/")
    if "job" not in segments:
        raise UsageError(f"{_display_url(text)} is not a Jenkins job or build URL (no /job/ in the path)")
    first = segments.index("job")
    view = first >= 2 and segments[first - 2] == "view"  # /view/NAME/job/… shows a job under a view
    root_path = "/".join(segments[: first - 2 if view else first]) + "/"
    names, build, i = [], None, first
    while i < len(segments):
        if segments[i] == "job" and i + 1 < len(segments):
            names.append(unquote(segments[i + 1]))
            i += 2
        elif segments[i] and (segments[i].isdigit() or segments[i] in PERMALINKS):
            build = segments[i]
            break
        else:
            i += 1
    if not names or not all(names):
        raise UsageError(f"{_display_url(text)}: no job name after /job/")
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    root = urlunsplit((parts.scheme, netloc, root_path, "", ""))
    return Target(root, "/".join(names), build)


def job_path(full_name: str) -> str:
    """`folder/sub/job` → `job/folder/job/sub/job/job/`, each part quoted as python-jenkins does (`%` → `%25`)."""
    return "".join(f"job/{quote(part.encode('utf-8'))}/" for part in full_name.split("/"))


def _display_url(url: str) -> str:
    """A URL safe to print: the user:password part removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[1], parts.path, parts.query, parts.fragment))


def _split(raw: str) -> SplitResult:
    try:
        parts = urlsplit(raw if "://" in raw else "http://" + raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError as exc:
        raise UsageError(f"JENKINS_URL {_display_url(raw)!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"JENKINS_URL {_display_url(raw)!r} is not an http(s) URL")
    return parts


def _origin(parts: Any) -> tuple[str, str, int]:
    return parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def resolve_credentials(env: Mapping[str, str], url: str | None = None) -> Credentials:
    """JENKINS_URL (or the URL given), then JENKINS_USER + JENKINS_API_TOKEN, else the netrc entry for the host.

    The environment's credentials belong to JENKINS_URL's server: a build URL on another server gets only its own
    netrc entry (or none), so a token is never sent to a host it was not made for. Without JENKINS_URL, the URL
    given names the server they are for.
    """
    env_url = env.get("JENKINS_URL", "")
    if not (url or env_url):
        raise UsageError("no Jenkins server: set JENKINS_URL (or pass a build URL)")
    parts = _split(url or env_url)
    host = parts.hostname or ""  # _split refused a URL without one
    netloc = host + (f":{parts.port}" if parts.port else "")
    root = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/", "", ""))
    home = _split(env_url) if env_url else parts  # without JENKINS_URL, the URL given names the server
    user = token = None
    if _origin(home) == _origin(parts):
        user, token = env.get("JENKINS_USER") or None, env.get("JENKINS_API_TOKEN") or None
        if not (user and token) and home.username and home.password:  # user:token inside JENKINS_URL; never printed
            return Credentials(root, unquote(home.username), unquote(home.password), "url")
    if user and token:
        return Credentials(root, user, token, "environment")
    entry = _netrc_entry(env, host)
    if entry is not None:
        login, password = entry
        if user and user != login:
            raise UsageError(f"JENKINS_USER is {user!r} but the netrc entry for {parts.hostname} is for another user")
        return Credentials(root, login, password, "netrc")
    if user or token:
        missing = "JENKINS_API_TOKEN" if user else "JENKINS_USER"
        raise UsageError(f"{missing} is not set and no netrc entry for {parts.hostname} was found")
    return Credentials(root, None, None, "anonymous")


def _netrc_entry(env: Mapping[str, str], host: str) -> tuple[str, str] | None:
    path = env.get("NETRC") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".netrc")
    if not os.path.isfile(path):
        return None
    try:
        auth = netrc.netrc(path).authenticators(host)
    except (netrc.NetrcParseError, OSError) as exc:
        # The parse error can quote the file's text, so only its line number is shown.
        lineno = getattr(exc, "lineno", None)
        raise UsageError(f"cannot read {path}{f' (line {lineno})' if lineno else ''}: not a valid netrc file") from None
    if not auth or not auth[2]:
        return None
    return auth[0] or "", auth[2]


@contextmanager
def translate(what: str, creds: Credentials, timeout: float | None) -> Iterator[None]:  # noqa: C901, PLR0912 -- grandfathered; split when next changed
    """Every way a Jenkins call fails, as one line that names the call, the host and what to do."""
    import requests

    import jenkins

    host = urlsplit(creds.url).netloc
    who = creds.user or "anonymous"

    def fail(message: str, kind: str, status: int | None = None) -> JenkinsError:
        if creds.token and len(creds.token) >= 8:  # a short token would blank out ordinary words
            message = message.replace(creds.token, "***")
        return JenkinsError(f"{what}: {message}", kind, status)


    try:
        yield
    except JenkinsError:
        raise
    except (jenkins.TimeoutException, requests.exceptions.Timeout):
        raise fail(f"no answer from {host} within {timeout:g} s (timeout)", "timeout") from None
    except requests.exceptions.SSLError as exc:
        reason = _reason(exc, r"(certificate verify failed[^)'\"]*|wrong version number|[A-Z_]+_ERROR[^)'\"]*)")
        raise fail(f"TLS handshake with {host} failed ({reason or 'TLS error'})", "tls") from None
    except requests.exceptions.ConnectionError as exc:
        text = str(exc)
        if "timed out" in text:
            raise fail(f"no answer from {host} within {timeout:g} s (timeout)", "timeout") from None
        if "refused" in text.lower():
            raise fail(f"connection to {host} refused (is Jenkins running there?)", "refused") from None
        if "Name or service not known" in text or "nodename nor servname" in text or "resolve" in text.lower():
            raise fail(f"cannot resolve host {urlsplit(creds.url).hostname}", "dns") from None
        if "RemoteDisconnected" in text or "reset" in text.lower():
            raise fail(f"{host} closed the connection mid-response", "connection") from None
        raise fail(f"cannot connect to {host}: {_reason(exc, r'(Errno[^)]*)') or type(exc).__name__}", "connection") from None
    except jenkins.NotFoundException:
        raise fail("not found (404)", "not-found", 404) from None
    except jenkins.JenkinsException as exc:
        text = str(exc)
        match = re.search(r"\[(\d{3})\]", text)
        status = int(match.group(1)) if match else None
        if status == 401:
            raise fail(f"authentication failed (401) for user {who}: check JENKINS_USER and JENKINS_API_TOKEN "
                       f"or the netrc entry for {urlsplit(creds.url).hostname}", "auth", 401) from None
        if status == 403:
            raise fail(f"permission denied (403) for user {who}: the account needs Overall/Read and Job/Read", "forbidden", 403) from None
        if status:
            raise fail(f"server error ({status}) from {host}", "server", status) from None
        if "does not exist" in text:
            raise fail("not found", "not-found") from None
        if "parse JSON" in text:
            raise fail(f"malformed JSON from {host}", "malformed") from None
        raise fail(text.splitlines()[0] if text else type(exc).__name__, "error") from None
    except requests.exceptions.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        raise fail(f"HTTP {status} from {host}", "server" if (status or 0) >= 500 else "http", status) from None
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
        raise fail(f"{host} broke off or garbled the response body", "connection") from None
    except requests.exceptions.RequestException as exc:  # anything else requests can raise (bad URL, redirects…)
        raise fail(f"request to {host} failed ({type(exc).__name__})", "connection") from None
    except ValueError:  # json.JSONDecodeError, or a body that is not the shape we expect
        raise fail(f"malformed JSON from {host}", "malformed") from None
    except KeyError as exc:
        if "x-jenkins" in str(exc).lower():
            raise fail(f"{host} did not answer like Jenkins (no X-Jenkins header)", "not-jenkins") from None
        raise


def _reason(exc: BaseException, pattern: str) -> str:
    match = re.search(pattern, str(exc))
    return match.group(1).strip() if match else ""


@dataclass
class Page:
    """One streamed response: its chunks, `X-Text-Size` (the next `start`, -1 if absent) and `X-More-Data`."""

    chunks: Iterator[bytes]
    size: int
    more: bool
    response: Any = None

    def close(self) -> None:
        """Drop the rest of the body (a generator never started would not run its `finally`)."""
        if self.response is not None:
            self.response.close()


def _page(chunks: Iterator[bytes], headers: Mapping[str, str], response: Any) -> Page:
    """A streamed answer with what its headers say about the log (research/jenkins.md §1.6)."""
    try:
        size = int(headers.get("X-Text-Size", "-1"))
    except ValueError:
        size = -1
    return Page(chunks, size, headers.get("X-More-Data", "").lower() == "true", response)


class JenkinsClient:
    """A python-jenkins handle with bounded timeouts and at most `workers` requests in flight."""

    def __init__(self, creds: Credentials, *, timeout: float = 10.0, workers: int = WORKERS,
                 deadline: float | None = None) -> None:
        from earthly_doctor.jenkins.bounded import BoundedAdapter, Limits
        from urllib3.util.retry import Retry

        import jenkins

        self.creds = creds
        self.timeout = timeout
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # python-jenkins logs JENKINS_API_EXTRA_HEADERS verbatim: it may hold a token
        try:
            self.server = jenkins.Jenkins(creds.url, username=creds.user, password=creds.token, timeout=timeout)
        finally:
            logging.disable(previous)
        # Every request bounded in wall time and size (a slow or huge answer is one line, never a hang), and at
        # most `workers` of them in flight (`Limits.slots`); a pool with a connection for each (python-jenkins'
        # default of 10 would make threads beyond it reconnect every call).
        # Mounted on both prefixes: requests picks the longest matching one, so a bare scheme would lose to its
        # defaults.
        self.limits = Limits(timeout, deadline, slots=threading.BoundedSemaphore(max(1, workers)))
        adapter = BoundedAdapter(self.limits, pool_connections=2, pool_maxsize=max(10, workers + 2),
                                 max_retries=Retry(total=0))
        for prefix in ("http://", "https://"):
            self.server._session.mount(prefix, adapter)  # noqa: SLF001 -- no public API for this
        # requests re-reads the proxy variables, CA bundle and ~/.netrc on every request (a walk over os.environ
        # and a stat each time: a third of a 200-build run's CPU). Every request goes to this one host, so read
        # them once here; credentials come from resolve_credentials, which reads netrc itself.
        session = self.server._session  # noqa: SLF001 -- no public API for this
        settings = session.merge_environment_settings(creds.url, {}, None, session.verify, None)
        session.proxies.update(settings.get("proxies") or {})
        session.verify = settings.get("verify", session.verify)
        if settings.get("cert") is not None:
            session.cert = settings["cert"]
        session.trust_env = False
        self._fast: tuple[Any, dict[str, str]] | Literal[False] | None = False  # False: not looked at yet
        # Jenkins checks a crumb on POST requests only (core's CrumbFilter passes every other method through) and
        # this client only GETs: python-jenkins' crumbIssuer request before the first call would be a round trip
        # for nothing.
        self.server.crumb = False

    @contextmanager
    def calls(self, what: str) -> Iterator[None]:
        from earthly_doctor.jenkins.bounded import Exceeded

        with translate(what, self.creds, self.timeout):
            try:
                yield
            except Exceeded as exc:  # a slow or huge answer, cut by the bounded adapter
                raise JenkinsError(f"{what}: {exc}", exc.kind) from None

    def url(self, path: str) -> str:
        return str(self.server.server) + path

    # -- identity

    def whoami(self) -> dict[str, Any]:
        """The first call: who the credentials are; it resolves auth, so every later request carries credentials."""
        try:
            with self.calls("whoami"):
                data = self.server.get_whoami()
                if not isinstance(data, dict):
                    raise ValueError("whoami is not an object")  # noqa: TRY004 -- translate() words ValueError
                return data
        except JenkinsError as exc:
            if exc.kind == "not-found":  # the commonest cause: a context path (…/jenkins/) left out of the URL
                raise JenkinsError(f"no Jenkins at {self.creds.url} (404 on me/api/json): check JENKINS_URL, "
                                   "including any context path such as /jenkins/", "not-jenkins", 404) from None
            raise

    def version(self) -> str:
        with self.calls("version"):
            return str(self.server.get_version())

    # -- JSON

    def get_json(self, path: str, what: str, params: dict[str, Any] | None = None) -> Any:
        import requests

        direct = self._direct()
        if direct is not None:
            content = self._get_direct(direct, path, what, params)
            if content is not None:
                with self.calls(what):
                    return json.loads(content)
        with self.calls(what):
            response = self.server.jenkins_request(requests.Request("GET", self.url(path), params=params))
            return json.loads(response.content)

    def job(self, name: str) -> dict[str, Any]:
        data = self.get_json(job_path(name) + "api/json", f"job {name}", {"depth": 0})
        if not isinstance(data, dict):
            raise JenkinsError(f"job {name}: malformed JSON (not an object)", "malformed")
        if "builds" not in data:
            kind = data.get("_class", "?").rsplit(".", 1)[-1]
            raise JenkinsError(f"job {name}: is a {kind}, not a job with builds (name a branch or job inside it)", "usage")
        return data

    def recent_builds(self, name: str, count: int) -> list[dict[str, Any]]:
        """The newest `count` builds with the fields triage needs, in one request (`allBuilds` has no 100 cap)."""
        data = self.get_json(job_path(name) + "api/json", f"builds of {name}",
                             {"tree": f"allBuilds[{BUILD_TREE}]{{0,{count}}}"})
        if not isinstance(data, dict):
            raise JenkinsError(f"builds of {name}: malformed JSON (not an object)", "malformed")
        if "allBuilds" not in data:
            kind = str(data.get("_class", "?")).rsplit(".", 1)[-1]
            raise JenkinsError(f"job {name}: is a {kind} without builds (name a job or branch inside it)", "usage")
        return [b for b in data["allBuilds"] or [] if isinstance(b, dict) and "number" in b][:count]

    def build(self, name: str, ref: str | int) -> dict[str, Any]:
        data = self.get_json(f"{job_path(name)}{ref}/api/json", f"build {name} #{ref}", {"depth": 0, "tree": BUILD_TREE})
        if not isinstance(data, dict) or "number" not in data:
            raise JenkinsError(f"build {name} #{ref}: malformed JSON (no build number)", "malformed")
        return data

    def stages(self, name: str, number: int) -> dict[str, Any] | None:
        """`wfapi/describe`, or None when the Pipeline REST API is not installed (or this is not a Pipeline)."""
        try:
            data = self.get_json(f"{job_path(name)}{number}/wfapi/describe", f"stages of {name} #{number}")
        except JenkinsError as exc:
            if exc.kind == "not-found":
                return None
            raise
        return cast("dict[str, Any]", data) if isinstance(data, dict) else None

    def stage(self, name: str, number: int, node_id: str) -> dict[str, Any] | None:
        try:
            data = self.get_json(f"{job_path(name)}{number}/execution/node/{quote(node_id)}/wfapi/describe",
                                 f"stage {node_id} of {name} #{number}")
            return cast("dict[str, Any] | None", data)
        except JenkinsError as exc:
            if exc.kind == "not-found":
                return None
            raise

    def node_labels(self) -> dict[str, list[str]]:
        """Agent name → labels; the built-in node is listed under '' as well (freestyle `builtOn` is '')."""
        data = self.get_json("computer/api/json", "nodes", {"tree": "computer[displayName,assignedLabels[name]]"})
        result: dict[str, list[str]] = {}
        for computer in data.get("computer") or []:
            labels = [label.get("name", "") for label in computer.get("assignedLabels") or [] if isinstance(label, dict)]
            name = computer.get("displayName", "")
            result[name] = [label for label in labels if label and label != name]
            if computer.get("_class", "").endswith("MasterComputer") or name == "Built-In Node":
                result[""] = result[name]
        return result

    # -- logs

    def stream(self, path: str, what: str, params: dict[str, Any] | None = None) -> Iterator[bytes]:
        """The body in chunks of at most CHUNK bytes, read as they arrive; the response is closed at the end."""
        page = self.page(path, what, params)
        try:
            yield from page.chunks
        finally:
            page.close()

    def page(self, path: str, what: str, params: dict[str, Any] | None = None) -> Page:
        import requests

        direct = self._direct()
        if direct is not None:
            page = self._page_direct(direct, path, what, params)
            if page is not None:
                return page
        with self.calls(what):
            response = self.server.jenkins_request(requests.Request("GET", self.url(path), params=params), stream=True)
        return _page(self._chunks(response, what), response.headers, response)

    def _direct(self) -> tuple[Any, dict[str, str]] | None:
        """The connection pool and the headers requests would send a log request with, once auth is resolved (after
        `whoami`); None where requests does more than send: a proxy, an auth scheme other than Basic (Kerberos is a
        handshake), or a requests without `get_connection_with_tls_context`."""
        if self._fast is not False:
            return self._fast
        if not self.server._auth_resolved:  # noqa: SLF001 -- no public API for this; ask again after whoami
            return None
        import requests

        from earthly_doctor.jenkins.wire import ACCEPT_ENCODING

        session = self.server._session  # noqa: SLF001 -- no public API for this
        adapter = session.get_adapter(self.creds.url)
        usable = (not session.proxies
                  and isinstance(session.auth, (type(None), requests.auth.HTTPBasicAuth))
                  and hasattr(adapter, "get_connection_with_tls_context"))
        if not usable:
            self._fast = None
            return None
        prepared = session.prepare_request(requests.Request("GET", self.creds.url))
        headers = dict(prepared.headers)
        headers["Accept-Encoding"] = ACCEPT_ENCODING  # the codings `wire` decodes (requests may add br, zstd)
        if self.server.crumb:  # a crumb set on python-jenkins (never by this client) goes on every request, GETs too
            headers[self.server.crumb["crumbRequestField"]] = self.server.crumb["crumb"]
        if any("\r" in v or "\n" in v for v in headers.values()):  # a crumb from the server, unchecked by requests
            self._fast = None
            return None
        pool = adapter.get_connection_with_tls_context(prepared, session.verify, None, session.cert)
        if not (hasattr(pool, "_get_conn") and hasattr(pool, "_put_conn")):  # `wire` borrows its connections
            self._fast = None
            return None
        self._fast = (pool, headers)
        return self._fast

    def _send_direct(self, direct: tuple[Any, dict[str, str]], path: str, what: str, params: dict[str, Any] | None,
                     *, stream: bool) -> Any:
        """A request through `bounded.send_direct`; None for any answer but 200 (the caller then asks again the
        usual way, which words every error status as python-jenkins does)."""
        from earthly_doctor.jenkins.bounded import send_direct

        pool, headers = direct
        url = self.url(path) + (f"?{urlencode(params)}" if params else "")
        with self.calls(what):
            body = send_direct(pool, url, headers, self.limits, stream=stream)
        if body.status != 200:
            body.close()
            if 300 <= body.status < 400:  # a server that redirects (http -> https, a new host): requests follows
                self._fast = None
            return None
        return body

    def _get_direct(self, direct: tuple[Any, dict[str, str]], path: str, what: str,
                    params: dict[str, Any] | None) -> bytes | None:
        body = self._send_direct(direct, path, what, params, stream=False)
        if body is None:
            return None
        try:
            return self._whole_direct(body, what)
        finally:
            body.close()

    def _whole_direct(self, body: Any, what: str) -> bytes:
        from earthly_doctor.jenkins.bounded import body_errors

        with self.calls(what), body_errors():
            return bytes(body.read_all())

    def _page_direct(self, direct: tuple[Any, dict[str, str]], path: str, what: str,
                     params: dict[str, Any] | None) -> Page | None:
        body = self._send_direct(direct, path, what, params, stream=True)
        return None if body is None else _page(self._read_direct(body, what), body.headers, body)

    def _read_direct(self, body: Any, what: str) -> Iterator[bytes]:
        from earthly_doctor.jenkins.bounded import body_errors

        try:
            with self.calls(what), body_errors():
                while chunk := body.read(CHUNK):
                    yield chunk
        finally:
            body.close()

    def _chunks(self, response: Any, what: str) -> Iterator[bytes]:
        try:
            with self.calls(what):
                yield from response.iter_content(CHUNK)
        finally:
            response.close()

    def close(self) -> None:
        self.server._session.close()  # noqa: SLF001 -- no public API for this
