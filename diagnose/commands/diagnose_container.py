"""`diagnose --container ID`: run the doctor image in another container's network and PID namespaces.

An agent container without Python (earthly/earthly is Alpine with no Python) cannot run the doctor, but a container
that joins its namespaces sees its loopback and its processes: the canary placed there proves exactly what Earthly
in the agent meets. This command starts that container, relays its JSON report, and always removes it.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from earthly_doctor import __version__
from earthly_doctor.errors import DoctorError, UsageError
from earthly_doctor.model import Report
from earthly_doctor.probes.docker_tls import TLSMaterial

DEFAULT_IMAGE = f"earthly-doctor:{__version__}"
CONTAINER_SOCKET = "/var/run/docker.sock"
CONTAINER_CERTS = "/certs/client"
# On top of the inner run's own deadline: creating, starting and removing a container on a busy daemon.
SLACK_SECONDS = 20.0
LABEL = "earthly-doctor.beside"
RUN_LABEL = "earthly-doctor.run"


@dataclass
class BesideRequest:
    container: str
    image: str = DEFAULT_IMAGE
    timeout: float = 10.0
    probe_timeout: float = 5.0
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    docker_host: str | None = None


class BesideFailed(DoctorError):
    """The doctor container ran but produced no report; `code` is its exit status, relayed."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def inner_argv(request: BesideRequest) -> list[str]:
    """The doctor's own command line inside the image: JSON on stdout, the same deadlines and selection."""
    argv = ["diagnose", "--format", "json", "--exit-zero",
            "--timeout", f"{request.timeout:g}", "--probe-timeout", f"{request.probe_timeout:g}"]
    for code in request.only:
        argv += ["--only", code]
    for code in request.skip:
        argv += ["--skip", code]
    return argv


def daemon_access(endpoint_url: str, socket_path: str | None,
                  tls: TLSMaterial | None = None) -> tuple[list[str], dict[str, str]]:
    """(binds, environment) that give the doctor container the same daemon we talk to, TLS material included
    (from DOCKER_CERT_PATH or a docker context alike), each file mounted read-only where the docker CLI looks."""
    if socket_path:
        return [f"{socket_path}:{CONTAINER_SOCKET}:rw"], {}
    host = endpoint_url.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    if host in ("127.0.0.1", "localhost", "::1"):
        # Our loopback is not the agent's: inside its namespace this address would be another daemon or none.
        raise UsageError(f"--container: the daemon is at {endpoint_url}, on this machine's loopback, which the agent's "
                         "namespace does not share; use the daemon's unix socket (--docker-host unix:///…)")
    environment = {"DOCKER_HOST": endpoint_url}
    binds: list[str] = []
    if tls is not None:
        environment["DOCKER_TLS_VERIFY" if tls.verify else "DOCKER_TLS"] = "1"
        environment["DOCKER_CERT_PATH"] = CONTAINER_CERTS
        for name, path in (("ca.pem", tls.ca), ("cert.pem", tls.cert), ("key.pem", tls.key)):
            if path:
                binds.append(f"{path}:{CONTAINER_CERTS}/{name}:ro")
    return binds, environment


def _docker_failures() -> tuple[type[BaseException], ...]:
    """What a daemon call raises when the daemon refuses or the transport fails (never our own bugs)."""
    import docker.errors
    import requests.exceptions

    return (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


def _target(client: Any, ref: str) -> dict[str, Any]:
    import docker.errors

    try:
        attrs: dict[str, Any] = client.inspect_container(ref)
    except docker.errors.NotFound:
        raise UsageError(f"--container {ref!r}: no such container on this daemon (see `docker ps`)") from None
    state = (attrs.get("State") or {}).get("Status", "?")
    if state != "running":
        raise UsageError(f"--container {ref!r}: the container is {state}, not running; its namespaces are gone")
    return attrs


def _require_image(client: Any, image: str) -> None:
    import docker.errors

    try:
        client.inspect_image(image)
    except docker.errors.ImageNotFound:
        raise DoctorError(f"image {image} is not on this daemon: build it with docker/build-image.sh, "
                          "or pass --image NAME") from None


def diagnose_beside(env: Mapping[str, str], request: BesideRequest) -> Report:
    """Run the doctor image beside `request.container` and return its report (the container is always removed)."""
    from earthly_doctor.probes.docker_client import connect
    from earthly_doctor.probes.docker_endpoint import find_endpoint

    endpoint = find_endpoint(env, request.docker_host)
    handle = connect(endpoint, env, request.probe_timeout)
    if not handle.ok:
        raise DoctorError(f"cannot use the Docker daemon at {endpoint.url}: {handle.error}")
    client = handle.client
    # Creating and starting a container on a busy daemon takes longer than one probe may.
    client.timeout = request.timeout + SLACK_SECONDS
    target = _target(client, request.container)
    _require_image(client, request.image)
    binds, environment = daemon_access(endpoint.url, endpoint.socket_path, endpoint.tls)
    target_id = str(target["Id"])
    host_config = client.create_host_config(
        network_mode=f"container:{target_id}", pid_mode=f"container:{target_id}", binds=binds,
    )
    run_id = uuid.uuid4().hex
    try:
        created = client.create_container(
            request.image, command=inner_argv(request), environment=environment, host_config=host_config,
            labels={LABEL: target_id, RUN_LABEL: run_id}, detach=True,
        )
    except _docker_failures() as exc:  # the daemon refused the container (bad image, bad mount): one line
        # A create whose answer timed out may still have made the container: find it by this run's label.
        _remove_labelled(client, run_id)
        raise DoctorError(f"could not create the doctor container: {_reason(exc)}") from None
    cid = created["Id"]
    try:
        try:
            client.start(cid)
        except _docker_failures() as exc:
            raise DoctorError(f"could not start the doctor container: {_reason(exc)}") from None
        try:
            status = client.wait(cid, timeout=request.timeout + SLACK_SECONDS)
        except _docker_failures() as exc:  # the read timed out: the inner doctor is bounded, so the daemon stalled
            raise DoctorError(f"the doctor container did not finish within {request.timeout + SLACK_SECONDS:g}s "
                              f"({type(exc).__name__})") from None
        code = int(status.get("StatusCode", 3))
        stdout = client.logs(cid, stdout=True, stderr=False).decode("utf-8", "replace")
        stderr = client.logs(cid, stdout=False, stderr=True).decode("utf-8", "replace")
    finally:
        with contextlib.suppress(*_docker_failures()):  # best effort; the label lets an operator find a leftover
            client.remove_container(cid, force=True)
    return _relay(stdout, stderr, code, target, request.image)


def _remove_labelled(client: Any, run_id: str) -> None:
    with contextlib.suppress(*_docker_failures()):  # the daemon that failed the create may fail this too
        for leftover in client.containers(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}):
            client.remove_container(leftover["Id"], force=True)


def _reason(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).splitlines()[0] if str(explanation or exc) else type(exc).__name__


def _relay(stdout: str, stderr: str, code: int, target: dict[str, Any], image: str) -> Report:
    try:
        report = Report.from_dict(json.loads(stdout))
    except (ValueError, KeyError, TypeError):
        last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no output")
        raise BesideFailed(f"the doctor image {image} exited {code} without a report: {last}", code) from None
    name = str(target.get("Name") or "").lstrip("/")
    report.extra["beside"] = {"container": name, "id": str(target.get("Id", ""))[:12], "image": image}
    return report
