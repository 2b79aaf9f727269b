"""Build a Context for a check's unit test: recorded /proc fixtures and injected facts, no daemon."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import earthly_doctor.probes.providers  # noqa: F401 -- registers the providers a fact not injected falls back to
from earthly_doctor.context import Context, Options
from earthly_doctor.environment import Environment
from earthly_doctor.probes.docker_client import DaemonHandle
from earthly_doctor.probes.docker_endpoint import Endpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROC = FIXTURES / "proc"


def proc_case(name: str) -> tuple[Path, Path, dict[str, str]]:
    root = PROC / name
    env_file = root / "env.json"
    env = json.loads(env_file.read_text()) if env_file.exists() else {}
    return root / "proc", root / "fs", env


def make_ctx(case: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None, **overrides: Any) -> Context:
    proc_root, fs_root, case_env = proc_case(case) if case else (Path("/nonexistent/proc"), Path("/nonexistent/fs"), {})
    environment = Environment(
        env={**case_env, **(env or {})}, cwd=cwd or Path("/nonexistent/cwd"), proc_root=proc_root, fs_root=fs_root,
        stdout_isatty=False,
    )
    return Context(env=environment, options=Options(timeout=5.0), overrides=overrides)


def daemon(url: str = "unix:///var/run/docker.sock", source: str = "default socket", ok: bool = True, **info: Any) -> DaemonHandle:
    base = {"Name": "node1", "DockerRootDir": "/var/lib/docker", "SecurityOptions": ["name=seccomp,profile=default"],
            "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {}},
            "HttpProxy": "", "HttpsProxy": "", "NoProxy": ""}
    base.update(info)
    if not ok:
        return DaemonHandle(Endpoint(url, source), False, "no-daemon", f"no Docker socket at {url}")
    return DaemonHandle(Endpoint(url, source), True, version={"Version": "20.10.24", "ApiVersion": "1.41"}, info=base,
                        client=SimpleNamespace())
