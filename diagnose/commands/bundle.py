"""`bundle`: one `.tar.gz` a support engineer can read without a call: the JSON report, environment facts, Earthly
and Docker configuration, the Jenkinsfile, log excerpts around the findings, versions and a manifest.

Every file passes through one `Redactor` before it is written; the manifest lists what was redacted, where and of
which kind, never the value. Secret-named variables' values are also learned first, so a value that turns up
anywhere else (a fact, a log line) is caught even when no pattern would recognise it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import platform
import socket
import stat
import sys
import tarfile
import time
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from earthly_doctor import __version__
from earthly_doctor.triage.findings import CODE as LOG_CODE
from earthly_doctor.environment import home_dir
from earthly_doctor.errors import DoctorError, UsageError
from earthly_doctor.fsutil import create_file
from earthly_doctor.redact import Redactor
from earthly_doctor.sanitize import clean
from earthly_doctor.secret_rules import gitleaks_rules

SCHEMA = "earthly-doctor/bundle/v1"
MAX_FILE = 256 * 1024  # a config or Jenkinsfile larger than this is cut (and the manifest says so)
FACTS = ("docker", "container", "netns", "network_mode", "earthly_settings", "canary", "buildkitd", "earthly_processes")


@dataclass
class BundleRequest:
    output: Path | None = None
    logs: list[str] = field(default_factory=list)
    jenkinsfile: str | None = None
    timeout: float = 10.0
    docker_host: str | None = None
    context_lines: int = 20


@dataclass
class BundleResult:
    path: Path
    files: list[dict[str, Any]]
    redactions: list[dict[str, Any]]
    notes: list[str]
    verdict: str


class _Bundle:
    def __init__(self, root: str) -> None:
        self.root = root
        self.files: list[tuple[str, bytes, str]] = []
        self.notes: list[str] = []

    def add(self, name: str, data: str | bytes, what: str) -> None:
        # Text is read with cat and less: no escape sequence or control character from a workspace file survives.
        self.files.append((name, clean(data).encode() if isinstance(data, str) else data, what))


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Facts as JSON: dataclasses and containers recursively; live objects (API clients) left out."""
    if depth > 8:
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)
                if f.name != "client"}
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    return f"<{type(value).__name__}>"


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _read_text(path: Path, bundle: _Bundle, *, workspace: Path | None = None) -> str | None:
    """A regular file's text, at most MAX_FILE bytes. A file in the workspace (which any committer controls) is
    read only where it really is inside the workspace: a link out of it (`Jenkinsfile -> /etc/shadow`) is left out
    and the manifest says so. FIFOs, devices and folders are never opened for reading."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            bundle.notes.append(f"{path}: not included: not a regular file")
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        bundle.notes.append(f"{path}: not read ({exc.strerror or exc})")
        return None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino) or not stat.S_ISREG(opened.st_mode):
            bundle.notes.append(f"{path}: not included: it changed while it was opened")
            return None
        if workspace is not None:
            # What was opened, not what the path said before: a link swapped in between cannot get past this.
            real, folder = _opened_path(fd, path), os.path.realpath(workspace)
            if not _inside(real, folder):
                bundle.notes.append(f"{path}: not included: it is a symbolic link to {real}, outside the workspace "
                                    f"{folder}")
                return None
        data = handle.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        bundle.notes.append(f"{path}: cut at {MAX_FILE} bytes")
        data = data[:MAX_FILE]
    return data.decode("utf-8", errors="replace")


def _opened_path(fd: int, path: Path) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # no /proc: the resolved path is the next best answer
        return os.path.realpath(path)


def _earthly_config_paths(env: dict[str, str]) -> list[Path]:
    home = home_dir(env)
    installation = env.get("EARTHLY_INSTALLATION_NAME") or "earthly"
    candidates: list[str | Path | None] = [env.get("EARTHLY_CONFIG"), "/etc/.earthly/config.yml"]
    if home is not None:
        candidates[1:1] = [home / f".{installation}" / "config.yml", home / f".{installation}" / "config.yaml"]
    seen, paths = set(), []
    for c in candidates:
        # os.path.isfile: Path.is_file raises PermissionError below another user's HOME (Python < 3.12).
        if c and os.path.isfile(c) and str(Path(c).resolve()) not in seen:
            seen.add(str(Path(c).resolve()))
            paths.append(Path(c))
    return paths


def _docker_config_path(env: dict[str, str]) -> Path | None:
    home = home_dir(env)
    base = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else home / ".docker" if home is not None else None
    return base / "config.json" if base is not None else None


def _versions(ctx: Any) -> dict[str, Any]:
    from importlib import metadata

    versions: dict[str, Any] = {"earthly-doctor": __version__, "python": sys.version.split()[0],
                                "platform": platform.platform(), "packages": {}}
    for name in ("docker", "typer", "click", "rich", "python-jenkins", "ruamel.yaml", "psutil"):
        try:
            versions["packages"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions["packages"][name] = None
    handle = ctx.try_fact("docker")
    if handle is not None and getattr(handle, "ok", False):
        versions["docker_daemon"] = {k: handle.version.get(k) for k in ("Version", "ApiVersion", "Os", "Arch", "KernelVersion")}
    settings = ctx.try_fact("earthly_settings")
    if settings is not None:
        versions["earthly"] = {"binary": settings.binary, "version": settings.version_text, "error": settings.version_error}
    return versions


def build_bundle(environment: Any, request: BundleRequest) -> BundleResult:  # noqa: C901, PLR0912, PLR0915 -- grandfathered; split when next changed
    from earthly_doctor.commands.bundle_excerpt import excerpt_log
    from earthly_doctor.commands.diagnose import DiagnoseRequest, diagnose
    from earthly_doctor.context import Context, Options
    from earthly_doctor.triage import findings_from_scan, load_signatures
    from earthly_doctor.triage.sources import check_readable, display_name

    if request.context_lines < 0:
        raise UsageError("--context must be 0 or more lines")
    for log in request.logs:
        check_readable(log)
    env = dict(environment.env)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root = f"earthly-doctor-bundle-{stamp}"
    output = Path(request.output) if request.output else Path(environment.cwd) / f"{root}.tar.gz"
    bundle = _Bundle(root)
    redactor = Redactor()
    redactor.learn(env)

    # Logs first: their findings go into the report.
    signatures = load_signatures()
    log_findings = []
    for log in request.logs:
        name = "stdin" if log == "-" else Path(log).name
        excerpt = excerpt_log(log, request.context_lines, signatures, redactor, f"logs/{name}.excerpt.txt")
        log_findings += findings_from_scan(excerpt.scanner, display_name(log))
        bundle.add(f"logs/{name}.excerpt.txt", excerpt.text, f"lines around the findings in {display_name(log)}")

    ctx = Context(env=environment, options=Options(timeout=request.timeout, docker_host=request.docker_host))
    diagnose_request = DiagnoseRequest(extra_findings=log_findings, skip=[LOG_CODE] if request.logs else [])
    report = diagnose(ctx, diagnose_request)
    report.command = "bundle"
    bundle.add("report.json", json.dumps(redactor.json(report.to_dict(), "report.json"), indent=2) + "\n",
               "the diagnose report (JSON v1), log findings included")

    facts: dict[str, Any] = {}
    for name in FACTS:
        try:
            facts[name] = _jsonable(ctx.fact(name)) if ctx.remaining() > 0 else "not gathered: deadline reached"
        except Exception as exc:  # noqa: BLE001 -- a fact that failed is itself worth recording, in one line
            facts[name] = f"not gathered: {exc}"
    environment_facts = {
        "cwd": str(environment.cwd),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "hostname": socket.gethostname(),
        "stdout_isatty": environment.stdout_isatty,
        "env": env,
        "facts": facts,
    }
    bundle.add("environment.json", json.dumps(redactor.json(environment_facts, "environment.json"), indent=2) + "\n",
               "environment variables (secrets redacted), identity, and the facts the checks read")

    for index, path in enumerate(_earthly_config_paths(env)):
        name = "earthly/config.yml" if index == 0 else f"earthly/config-{index}.yml"
        text = _read_text(path, bundle)
        if text is not None:
            bundle.add(name, redactor.text(text, name), f"Earthly config from {path}")
    dotenv = Path(environment.cwd) / ".env"
    if os.path.lexists(dotenv):
        text = _read_text(dotenv, bundle, workspace=Path(environment.cwd))
        if text is not None:
            bundle.add("earthly/dotenv", redactor.text(text, "earthly/dotenv"), f".env in the working directory ({dotenv})")

    docker_config = _docker_config_path(env)
    if docker_config is not None and os.path.isfile(docker_config):
        text = _read_text(docker_config, bundle)
        if text is not None:
            try:
                data = redactor.json(json.loads(text), "docker/config.json", docker_config=True)
                bundle.add("docker/config.json", json.dumps(data, indent=2) + "\n", f"Docker CLI config from {docker_config}")
            except ValueError:
                bundle.add("docker/config.json", redactor.text(text, "docker/config.json"),
                           f"Docker CLI config from {docker_config} (not valid JSON)")

    jenkinsfile = Path(request.jenkinsfile) if request.jenkinsfile else Path(environment.cwd) / "Jenkinsfile"
    if request.jenkinsfile and not os.path.lexists(jenkinsfile):
        raise DoctorError(f"{jenkinsfile}: no such file")
    if os.path.lexists(jenkinsfile):
        # The folder that holds it is the workspace its link (if it is one) must stay in.
        text = _read_text(jenkinsfile, bundle, workspace=Path(environment.cwd, jenkinsfile).parent)
        if text is not None:
            bundle.add("jenkins/Jenkinsfile", redactor.text(text, "jenkins/Jenkinsfile"), f"Jenkinsfile from {jenkinsfile}")
    else:
        bundle.notes.append("no Jenkinsfile in the working directory (give one with --jenkinsfile)")

    bundle.add("versions.json", json.dumps(redactor.json(_versions(ctx), "versions.json"), indent=2) + "\n",
               "versions of earthly-doctor, Python, packages, the Docker daemon and Earthly")

    entries = [{"path": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "what": what}
               for name, data, what in bundle.files]
    redactions = redactor.summary()
    by_kind: dict[str, int] = {}
    for r in redactions:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
    manifest = {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": {"name": "earthly-doctor", "version": __version__},
        "verdict": report.verdict.cause,
        "files": entries,
        "redactions": redactions,
        "redactions_by_kind": by_kind,
        "redaction_rules": {"own": "earthly_doctor.redact", "gitleaks": gitleaks_rules().source,
                            "gitleaks_rules": len(gitleaks_rules().rules)},
        "notes": bundle.notes,
    }
    bundle.add("manifest.json", json.dumps(manifest, indent=2) + "\n", "this list")
    create_file(output, _tar_gz(bundle), cwd=environment.cwd, mode=0o600)
    return BundleResult(output, entries, redactions, bundle.notes, report.verdict.cause)


def _tar_gz(bundle: _Bundle) -> bytes:
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, _ in bundle.files:
            info = tarfile.TarInfo(f"{bundle.root}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
