"""Connect to the Docker daemon with explicit timeouts and turn every expected failure into a classified result."""

from __future__ import annotations

import errno
import importlib.util
import os
import socket
import stat
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from earthly_doctor.probes.docker_endpoint import Endpoint

# /images/create with fromImage and HostConfig.NetworkMode exist since Docker 1.12 (API 1.24).
MIN_API_VERSION = "1.24"
# The newest API we ask for; a newer daemon still serves it.
MAX_API_VERSION = "1.41"


def _version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (0,)


@dataclass
class DaemonHandle:
    endpoint: Endpoint
    ok: bool
    # no-daemon | permission-denied | no-answer | refused | api-too-old | no-context | unsupported | error
    error_kind: str | None = None
    error: str | None = None
    version: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    client: Any = None  # docker.APIClient when ok

    @property
    def api_version(self) -> str | None:
        return self.version.get("ApiVersion")

    @property
    def kind(self) -> str:
        """local | remote | rootless | desktop: where the daemon's loopback is, relative to ours."""
        options = " ".join(self.info.get("SecurityOptions") or [])
        if "rootless" in options:
            return "rootless"
        if "Docker Desktop" in str(self.info.get("OperatingSystem", "")):
            return "desktop"
        if self.endpoint.is_remote:
            return "remote"
        path = self.endpoint.socket_path or ""
        if path.startswith("/run/user/") or "/.docker/run/" in path:
            return "rootless"
        return "local"


def _classify(exc: BaseException) -> tuple[str, str]:  # noqa: C901 -- grandfathered; split when next changed
    """Map an exception from the SDK (often wrapped several times) onto one kind and one clear line."""
    seen: list[BaseException] = []
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or e in seen:
            continue
        seen.append(e)
        stack.extend([e.__cause__, e.__context__, *[a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]])
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    text = " ".join(str(e) for e in seen)
    for e in seen:
        if isinstance(e, PermissionError) or getattr(e, "errno", None) in (errno.EACCES, errno.EPERM):
            return "permission-denied", "permission denied"
    for e in seen:
        if isinstance(e, (socket.timeout, TimeoutError)) or "timed out" in str(e).lower():
            return "no-answer", "timed out"
    for e in seen:
        if isinstance(e, FileNotFoundError) or getattr(e, "errno", None) == errno.ENOENT:
            return "no-daemon", "socket not found"
    for e in seen:
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return "refused", "connection refused"
    if "Permission denied" in text:
        return "permission-denied", "permission denied"
    if "Connection refused" in text or "connection refused" in text:
        return "refused", "connection refused"
    if "No such file" in text:
        return "no-daemon", "socket not found"
    if "Read timed out" in text or "timeout" in text.lower():
        return "no-answer", "timed out"
    return "error", f"{type(exc).__name__}: {exc}"


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return True  # cannot tell (e.g. permission): let the connection attempt say what is wrong


def connect(endpoint: Endpoint, env: Mapping[str, str], timeout: float, *,
            deadline: float | None = None) -> DaemonHandle:
    """Ask the daemon for /version and /info, each bounded by `timeout` (the SDK's own default is 60 s) and by
    what is left before `deadline` (time.monotonic()) when given."""
    import docker  # deferred: importing the SDK costs ~0.2 s, which `--version` must not pay

    if endpoint.problem:
        return DaemonHandle(endpoint, False, "no-context", endpoint.problem)
    if endpoint.scheme == "ssh" and importlib.util.find_spec("paramiko") is None:
        # The SDK's ssh:// adapter imports paramiko even when it shells out to `ssh`; without it we cannot look.
        return DaemonHandle(endpoint, False, "unsupported",
                            "earthly-doctor cannot reach ssh:// daemons without the paramiko package (pip install "
                            f"paramiko); the daemon at {endpoint.url} was not contacted, so nothing is known about it")
    path = endpoint.socket_path
    if path is not None and not os.path.exists(path):
        return DaemonHandle(endpoint, False, "no-daemon", f"no Docker socket at {path}")
    if path is not None and not _is_socket(path):
        # `-v /var/run/docker.sock:…` whose source did not exist when the container started: Docker made a directory.
        what = "a directory" if os.path.isdir(path) else "a regular file"
        return DaemonHandle(endpoint, False, "no-daemon",
                            f"{path} is {what}, not a socket (a bind mount whose source socket did not exist when the "
                            "container started)")
    kwargs: dict[str, Any] = {}
    try:
        if endpoint.scheme == "tcp" and env.get("DOCKER_TLS_VERIFY"):
            kwargs = docker.utils.kwargs_from_env(environment=dict(env))
            kwargs.pop("base_url", None)
        kwargs.pop("version", None)
        if deadline is not None:
            timeout = max(min(timeout, 0.25), min(timeout, deadline - time.monotonic()))
        client = docker.APIClient(
            base_url=endpoint.url,
            version=MIN_API_VERSION,
            timeout=timeout,
            use_ssh_client=endpoint.scheme == "ssh",
            **kwargs,
        )
        version = client.version(api_version=False)
    except Exception as exc:  # noqa: BLE001 -- the SDK raises a zoo of types for the same few conditions
        kind, line = _classify(exc)
        return DaemonHandle(endpoint, False, kind, f"{line} ({endpoint.url})")
    api = str(version.get("ApiVersion", "0"))
    if _version_tuple(api) < _version_tuple(MIN_API_VERSION):
        return DaemonHandle(
            endpoint,
            False,
            "api-too-old",
            f"the daemon speaks Docker API {api}; earthly-doctor needs {MIN_API_VERSION} or newer",
            version=version,
        )
    negotiated = min(api, MAX_API_VERSION, key=_version_tuple)
    client._version = negotiated  # noqa: SLF001 -- talk the newest API both sides know, as the docker CLI does
    if deadline is not None:
        client.timeout = max(min(timeout, 0.25), min(timeout, deadline - time.monotonic()))  # /version used some
    try:
        info = client.info()
    except Exception as exc:  # noqa: BLE001 -- any failure of the daemon call is reported, as above
        kind, line = _classify(exc)
        return DaemonHandle(endpoint, False, kind, f"/info: {line} ({endpoint.url})", version=version)
    client.timeout = timeout  # later callers (network mode, canary) bound their own calls
    return DaemonHandle(endpoint, True, version=version, info=info, client=client)
