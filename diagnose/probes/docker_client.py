"""Connect to the Docker daemon with explicit timeouts and turn every expected failure into a classified result."""

from __future__ import annotations

import errno
import functools
import importlib.util
import os
import socket
import stat
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from earthly_doctor.probes.docker_endpoint import Endpoint
from earthly_doctor.probes.docker_tls import classify_tls, tls_advice

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
    # no-daemon | permission-denied | no-answer | refused | api-too-old | no-context | unsupported | error,
    # or one of docker_tls.TLS_KINDS
    error_kind: str | None = None
    error: str | None = None
    hint: str | None = None  # what to check, when the probe knows better than a generic line (TLS files, variables)
    version: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    client: Any = None  # docker.APIClient when ok
    libpod_rootless: bool | None = None  # Podman only: libpod /info host.security.rootless

    @property
    def api_version(self) -> str | None:
        return self.version.get("ApiVersion")

    @property
    def engine(self) -> str:
        """docker | podman: Podman's Docker-compatible API names itself in /version Components."""
        components = self.version.get("Components") or []
        names = {str(c.get("Name", "")) for c in components if isinstance(c, dict)}
        return "podman" if "Podman Engine" in names else "docker"

    @property
    def rootless(self) -> bool:
        """/info SecurityOptions says name=rootless for rootless Docker; Podman 4.3's compat /info does not, so its
        own libpod /info (host.security.rootless) is asked too."""
        return bool(self.libpod_rootless) or any("rootless" in str(o) for o in self.info.get("SecurityOptions") or [])

    @property
    def flavour(self) -> str:
        """What the daemon is, said the way a user would: Docker, rootless Docker, Podman (rootless), Docker Desktop."""
        if self.engine == "podman":
            return f"Podman ({'rootless' if self.rootless else 'rootful'})"
        if "Docker Desktop" in str(self.info.get("OperatingSystem", "")):
            return "Docker Desktop"
        return "rootless Docker" if self.rootless else "Docker"

    @property
    def engine_version(self) -> str | None:
        """The engine's own version (Podman's /version Version is its Docker-API emulation's, so read Components)."""
        for c in self.version.get("Components") or []:
            if isinstance(c, dict) and c.get("Name") in ("Podman Engine", "Engine"):
                return str(c.get("Version"))
        return self.version.get("Version")

    @property
    def kind(self) -> str:
        """local | remote | rootless | desktop: where the daemon's loopback is, relative to ours."""
        if self.engine == "docker" and self.rootless:
            return "rootless"  # RootlessKit gives rootless dockerd a network namespace of its own
        if "Docker Desktop" in str(self.info.get("OperatingSystem", "")):
            return "desktop"
        if self.endpoint.is_remote:
            return "remote"
        path = self.endpoint.socket_path or ""
        # Rootless Podman's service pulls in the user's namespace but the host's network: its loopback is ours.
        if self.engine == "docker" and (path.startswith("/run/user/") or "/.docker/run/" in path):
            return "rootless"
        return "local"


def _classify(exc: BaseException) -> tuple[str, str]:  # noqa: C901, PLR0912 -- grandfathered; split when next changed
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
    # Before the permission test: ssl errors carry errno 1 (EPERM), which once read as "permission denied".
    tls = classify_tls(seen)
    if tls is not None:
        return tls
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


@functools.cache
def _client_class() -> Any:
    """docker.APIClient whose TLS verification is the daemon's CA, whatever REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE say.

    requests merges those variables over `session.verify` on every request (Session.merge_environment_settings),
    so an agent with a corporate bundle would check the daemon against the wrong CA; proxies from the environment
    still apply, as they do for the docker CLI."""
    import docker

    class DaemonClient(docker.APIClient):  # type: ignore[misc]
        def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if self.verify is not True:  # True means "the system's roots", which the variables may well name
                settings["verify"] = self.verify
            return settings

    return DaemonClient


def open_client(endpoint: Endpoint, timeout: float, version: str = MIN_API_VERSION) -> Any:
    """A docker SDK client for the endpoint with the TLS the docker CLI would use (one home for every caller)."""
    import docker

    tls: Any = False
    if endpoint.tls is not None:
        material = endpoint.tls
        client_cert = (material.cert, material.key) if material.cert and material.key else None
        verify: Any = (material.ca or True) if material.verify else False
        tls = docker.tls.TLSConfig(client_cert=client_cert, ca_cert=material.ca if material.verify else None,
                                   verify=verify)
    return _client_class()(base_url=endpoint.url, version=version, timeout=timeout, tls=tls,
                           use_ssh_client=endpoint.scheme == "ssh")


def connect(endpoint: Endpoint, env: Mapping[str, str], timeout: float, *,  # noqa: ARG001
            deadline: float | None = None) -> DaemonHandle:
    """Ask the daemon for /version and /info, each bounded by `timeout` (the SDK's own default is 60 s) and by
    what is left before `deadline` (time.monotonic()) when given. The SDK is imported only in open_client
    (~0.2 s, which `--version` must not pay); `env` is kept for callers: the endpoint already carries what the
    environment said (TLS included)."""
    if endpoint.problem and endpoint.tls is not None and endpoint.problem == endpoint.tls.problem:
        return DaemonHandle(endpoint, False, "tls-files", endpoint.problem, hint=endpoint.problem)
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
    try:
        if deadline is not None:
            timeout = max(min(timeout, 0.25), min(timeout, deadline - time.monotonic()))
        client = open_client(endpoint, timeout, MIN_API_VERSION)
        version = client.version(api_version=False)
    except Exception as exc:  # noqa: BLE001 -- the SDK raises a zoo of types for the same few conditions
        kind, line = _classify(exc)
        hint = tls_advice(kind, endpoint.url, endpoint.tls) if kind.startswith("tls-") else None
        return DaemonHandle(endpoint, False, kind, f"{line} ({endpoint.url})", hint=hint)
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
    handle = DaemonHandle(endpoint, True, version=version, info=info, client=client)
    if handle.engine == "podman":
        handle.libpod_rootless = _libpod_rootless(client, timeout)
    return handle


def _libpod_rootless(client: Any, timeout: float) -> bool | None:
    """Podman's own API (/v4.0.0/libpod/info, served beside the compat one); None when it does not answer."""
    try:
        response = client.get(f"{client.base_url}/v4.0.0/libpod/info", timeout=timeout)
        response.raise_for_status()
        value = response.json().get("host", {}).get("security", {}).get("rootless")
    except Exception:  # noqa: BLE001 -- an old Podman or a proxy in between: the compat answer stands
        return None
    return value if isinstance(value, bool) else None
