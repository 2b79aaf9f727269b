"""ED140's facts: which Earthly (or EarthBuild) is here and how it would export a SAVE IMAGE with these settings.

Semantics follow research/earthly.md: urfave/cli reads the first of a flag's env names that is *set*, and only a
non-empty value goes through Go's strconv.ParseBool (set-but-empty is false; an invalid value makes Earthly exit);
`.env` in the working directory is loaded first and never overrides the environment (godotenv.Load); EarthBuild
reads `EARTH_` names before the deprecated `EARTHLY_` ones; `buildkit_host` is local for 127.0.0.1, ::1,
localhost or a docker-/podman-container scheme; `local_registry_host` only counts with a local BuildKit.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

from earthly_doctor.dotenv import DotenvError, read_dotenv
from earthly_doctor.errors import DoctorError
from earthly_doctor.fsutil import read_regular
from earthly_doctor.probes.frontend import PROXY_SKIPPED, Frontend, pick
from earthly_doctor.vocabulary import (BUILDKITD_PORT, EARTHBUILD_PREFIX, EARTHLY_PREFIX, PINNED_REGISTRY, PROXY_FLAG, PROXY_SETTING,
                                       parse_go_bool)

PROXY_SINCE = (0, 8, 0)  # v0.8.0 turned the registry proxy on everywhere (#3629)
IMAGE_ENV_SINCE = (0, 8, 2)  # earthly/earthly sets EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true since v0.8.2 (#3753)
OPT_IN_SINCE = (0, 7, 20)  # v0.7.20-v0.7.23: proxy only with --use-remote-registry
REGISTRY_PORT = BUILDKITD_PORT


def _lines(path: Path) -> list[str]:
    """A workspace file's lines; none when it is missing, unreadable, or not a regular file (a FIFO `.env` must not
    hang the diagnosis, nor `.env -> /dev/zero` fill memory)."""
    try:
        data = read_regular(path, follow=True)
    except (OSError, DoctorError):  # DoctorError: fsutil.UnsafePath
        return []
    return (data or b"").decode("utf-8", errors="replace").splitlines()


CONFIG_MAX_BYTES = 256 * 1024  # a config.yml is a few hundred bytes; anything bigger is not one to trust
STRING_KEYS = ("buildkit_host", "local_registry_host", "container_frontend")  # the ones the export path depends on


def _go_scalar(value: object) -> str:
    """A YAML scalar as Go's yaml.v3 hands it to a string field: the text, `true`/`false` for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_global_config(path: Path) -> tuple[dict[str, str], str | None]:
    """The scalar keys under `global:` in Earthly's config.yml, parsed as YAML the way Earthly's yaml.v3 does (block
    and flow style alike), and the reason Earthly would refuse the file (`failed to parse YAML config`), if any.
    A null value leaves Earthly's default in place, so it is left out; keys Earthly does not know are ignored, as
    yaml.v3 ignores them. An unreadable or missing file is no config at all (Earthly creates one)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return {}, None if not path.exists() else f"{path} is not a regular file"
        if info.st_size > CONFIG_MAX_BYTES:
            return {}, f"{path} is {info.st_size} bytes, too big to be Earthly's config (read at most {CONFIG_MAX_BYTES})"
        with open(path, "rb") as f:
            text = f.read(CONFIG_MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return {}, None
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except (YAMLError, ValueError) as exc:
        return {}, f"{path} is not valid YAML: {' '.join(str(exc).split())[:200]}"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, f"{path}: the top level is a {type(data).__name__}, not a mapping"
    section = data.get("global")
    if section is None:
        return {}, None
    if not isinstance(section, dict):
        return {}, f"{path}: `global` is a {type(section).__name__}, not a mapping"
    values: dict[str, str] = {}
    for key, value in section.items():
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            if key in STRING_KEYS:
                return {}, f"{path}: global.{key} is a {type(value).__name__}, not a string"
            continue
        values[str(key)] = _go_scalar(value)
    return values, None


def parse_version(text: str) -> tuple[int, int, int] | None:
    m = re.search(r"version v?(\d+)\.(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def port_offset(installation: str) -> int:
    """config.PortOffset: 0 for `earthly`, else 10 + crc32(name) % 1000."""
    return 0 if installation == "earthly" else 10 + zlib.crc32(installation.encode()) % 1000


def is_local_buildkit(host: str) -> bool:
    """containerutil.IsLocal: an empty host means Earthly starts earthly-buildkitd itself (local)."""
    if not host:
        return True
    parsed = urlparse(host)
    if parsed.scheme in ("docker-container", "podman-container"):
        return True
    return (parsed.hostname or "") in ("127.0.0.1", "localhost", "::1") or (parsed.hostname or "").startswith("::ffff:127.")


@dataclass
class Setting:
    value: object
    source: str  # "EARTHLY_CI (environment)", ".env (/w/.env)", "--ci flag", "default"
    raw: str | None = None


@dataclass
class EarthlySettings:
    product: str = "earthly"  # earthly | earthbuild
    binary: str | None = None
    binaries: list[str] = field(default_factory=list)
    version: tuple[int, int, int] | None = None
    version_text: str | None = None
    version_error: str | None = None
    affected: bool | None = None
    affected_reason: str = ""
    proxy_disabled: Setting = field(default_factory=lambda: Setting(False, "default (proxy on since v0.8.0)"))
    invalid: list[str] = field(default_factory=list)  # settings Earthly would reject and exit on
    no_output: Setting = field(default_factory=lambda: Setting(False, "default"))
    buildkit_host: Setting = field(default_factory=lambda: Setting("", "default (earthly-buildkitd via docker)"))
    buildkit_local: bool = True
    local_registry_host: Setting = field(default_factory=lambda: Setting(PINNED_REGISTRY, "default"))
    earthly_image: bool = False
    dotenv_path: str | None = None
    dotenv_used: list[str] = field(default_factory=list)
    config_path: str | None = None
    installation: str = "earthly"
    buildkitd_name: str = "earthly-buildkitd"
    registry_port: int = REGISTRY_PORT
    frontend: Frontend = field(default_factory=lambda: Frontend("docker-shell", "default"))
    export_path: str = "proxy"  # none | proxy | buildkitd-8371 | tar | invalid
    export_detail: str = ""
    processes: dict[int, EarthlySettings] = field(default_factory=dict)  # per running earthly pid
    subject: str = ""  # whose environment was read, when it is not ours (the agent beside the doctor image)


def _lookup(names: list[str], env: Mapping[str, str], dotenv: Mapping[str, str], dotenv_path: str) -> tuple[str, str, str] | None:
    """(name, value, source) of the first name that is set, in the environment or (only if unset) in .env."""
    for name in names:
        if name in env:
            return name, env[name], f"{name} (environment)"
        if name in dotenv:
            return name, dotenv[name], f"{name} ({dotenv_path})"
    return None


def _flag_value(flags: list[str], name: str) -> str | None:
    """The value of `--name=value` or `--name value` in Earthly's flags (urfave/cli accepts both)."""
    for i, flag in enumerate(flags):
        if flag.startswith(name + "="):
            return flag.split("=", 1)[1]
        if flag == name and i + 1 < len(flags):
            return flags[i + 1]
    return None


def evaluate(  # noqa: C901, PLR0912, PLR0915 -- grandfathered; split when next changed
    env: Mapping[str, str],
    cwd: Path,
    *,
    flags: list[str] | None = None,
    product: str = "earthly",
    version_text: str | None = None,
) -> EarthlySettings:
    """The effective settings for an `earthly` started with this environment, working directory and flags."""
    flags = flags or []
    s = EarthlySettings(product=product)
    prefixes = [EARTHBUILD_PREFIX, EARTHLY_PREFIX] if product == "earthbuild" else [EARTHLY_PREFIX]

    def names(suffix: str) -> list[str]:
        return [p + suffix for p in prefixes]

    env_file = next((env[n] for n in names("ENV_FILE_PATH") if env.get(n)), ".env")
    dotenv_file = Path(env_file) if os.path.isabs(env_file) else cwd / env_file
    try:
        dotenv = read_dotenv(dotenv_file, env)
    except DotenvError as exc:
        dotenv = {}
        s.invalid.append(f"{dotenv_file}: {exc}; Earthly exits with 'Error loading dot-env file'")
    if dotenv:
        s.dotenv_path = str(dotenv_file)

    def boolean(suffix: str, flag: str, default_source: str) -> Setting:
        if flag in flags or f"{flag}=true" in flags:
            return Setting(True, f"{flag} flag")
        found = _lookup(names(suffix), env, dotenv, str(dotenv_file))
        if found is None:
            return Setting(False, default_source)
        name, value, source = found
        if source.endswith(f"({dotenv_file})"):
            s.dotenv_used.append(name)
        if value == "":
            return Setting(False, f"{source}: set but empty, which urfave/cli treats as false", value)
        parsed = parse_go_bool(value)
        if parsed is None:
            s.invalid.append(f"{name}={value!r}: not a Go bool (strconv.ParseBool); Earthly exits with 'could not parse'")
        return Setting(parsed, source, value)

    s.proxy_disabled = boolean(PROXY_SETTING, PROXY_FLAG, "default (proxy on since v0.8.0)")
    ci = boolean("CI", "--ci", "default")
    output = boolean("OUTPUT", "--output", "default")
    no_output = boolean("NO_OUTPUT", "--no-output", "default")
    if no_output.value:
        s.no_output = no_output
    elif ci.value and not output.value:
        s.no_output = Setting(True, f"{ci.source}: --ci implies --no-output", ci.raw)
    elif ci.value:
        s.no_output = Setting(False, f"{ci.source}, but {output.source} re-enables output", ci.raw)

    s.earthly_image = env.get("EARTHLY_IMAGE") == "true"
    s.installation = env.get("EARTHLY_INSTALLATION_NAME") or "earthly"
    offset = port_offset(s.installation)
    s.registry_port = REGISTRY_PORT + offset
    s.buildkitd_name = next((env[n] for n in names("CONTAINER_NAME") if env.get(n)), f"{s.installation}-buildkitd")

    config_file = env.get("EARTHLY_CONFIG") or next(
        # os.path.exists, not Path.exists: the latter raises PermissionError for another user's HOME (Python < 3.12).
        (str(p) for p in (Path(env.get("HOME", "/root")) / f".{s.installation}" / "config.yml",
                          Path("/etc/.earthly/config.yml")) if os.path.exists(p)),
        None,
    )
    config, config_error = read_global_config(Path(config_file)) if config_file else ({}, None)
    if config_file and (config or config_error):
        s.config_path = config_file
    if config_error:
        s.invalid.append(f"{config_error}; Earthly exits with 'failed to parse YAML config'")
    s.frontend = pick(env, config.get("container_frontend"), config_file or "default")
    bk = _lookup(names("BUILDKIT_HOST"), env, dotenv, str(dotenv_file))
    flag_host = _flag_value(flags, "--buildkit-host")
    if flag_host:
        s.buildkit_host = Setting(flag_host, "--buildkit-host flag")
    elif bk and bk[1]:
        s.buildkit_host = Setting(bk[1], bk[2])
    elif config.get("buildkit_host"):
        s.buildkit_host = Setting(config["buildkit_host"], f"buildkit_host ({config_file})")
    s.buildkit_local = is_local_buildkit(str(s.buildkit_host.value))
    if "local_registry_host" in config:
        s.local_registry_host = Setting(config["local_registry_host"], f"local_registry_host ({config_file})")
    else:
        s.local_registry_host = Setting(f"tcp://127.0.0.1:{s.registry_port}", "default")

    s.version_text = version_text
    s.version = parse_version(version_text or "")
    if s.version is None:
        s.affected, s.affected_reason = None, "version unknown: Earthly v0.8.0 and newer start the proxy by default"
    elif s.version >= PROXY_SINCE:
        s.affected, s.affected_reason = True, "v0.8.0 and newer start the registry proxy by default"
    elif s.version >= OPT_IN_SINCE:
        s.affected, s.affected_reason = False, "before v0.8.0 the proxy was opt-in (--use-remote-registry)"
    else:
        s.affected, s.affected_reason = False, "before v0.7.20 there was no registry proxy"

    if s.invalid:
        s.export_path, s.export_detail = "invalid", "Earthly would exit before building: " + "; ".join(s.invalid)
    elif s.no_output.value:
        s.export_path, s.export_detail = "none", f"no local image export at all ({s.no_output.source})"
    elif s.affected is False:
        s.export_path, s.export_detail = "tar" if not s.buildkit_local else "buildkitd-8371", s.affected_reason
    elif not s.proxy_disabled.value and s.frontend.name != "podman-shell":
        s.export_path, s.export_detail = "proxy", "docker pull from 127.0.0.1:<random port> in Earthly's own network namespace"
    else:
        # The podman frontend never starts the proxy; the export then goes the proxy-off way.
        why = "" if s.proxy_disabled.value else f"Podman frontend ({s.frontend.source}): '{PROXY_SKIPPED}'; "
        tool = "docker" if s.proxy_disabled.value else "podman"
        if s.buildkit_local and s.local_registry_host.value:
            host = urlparse(str(s.local_registry_host.value)).netloc or str(s.local_registry_host.value)
            s.export_path, s.export_detail = "buildkitd-8371", (f"{why}{tool} pull from {host}, published by "
                                                                f"{s.buildkitd_name} on the daemon's loopback")
        else:
            kind = "remote BuildKit" if not s.buildkit_local else "local_registry_host is empty"
            s.export_path, s.export_detail = "tar", f"{why}tar stream + {tool} load ({kind})"
    return s


def find_binaries(env: Mapping[str, str]) -> list[tuple[str, str]]:
    path = env.get("PATH", os.defpath)
    found = []
    for name in ("earthly", "earth"):
        hit = shutil.which(name, path=path)
        if hit:
            found.append((name, hit))
    return found


def run_version(binary: str, env: Mapping[str, str], timeout: float) -> str:
    result = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=timeout, env=dict(env), stdin=subprocess.DEVNULL,
        check=False,  # the exit status says nothing we use; the text does
    )
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr).strip() else ""
