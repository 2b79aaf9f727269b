"""Turning Earthly's registry proxy off in a file: shared by disable-proxy and pinned-port (which needs it too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from earthly_doctor.remedies.base import Editor, Target


def proxy_off_editor(kind: str, options: dict[str, Any]) -> Editor | None:
    """The editor that disables the proxy in a file of this kind, or None when such files cannot carry it."""
    style = options.get("style")
    if kind == "jenkinsfile":
        from earthly_doctor.remedies.edit.jenkinsfile import edit_disable_proxy

        return lambda text: edit_disable_proxy(text, style=style or "env", stage=options.get("stage"))
    if kind == "envfile":
        from earthly_doctor.remedies.edit.envfile import edit_env_disable_proxy

        key = "EARTH_DISABLE_REMOTE_REGISTRY_PROXY" if options.get("earthbuild") else "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"
        return lambda text: edit_env_disable_proxy(text, key)
    if kind == "shell":
        from earthly_doctor.remedies.edit.shell import edit_script_disable_proxy

        return lambda text: edit_script_disable_proxy(text, style=style or "flag")
    return None


def proxy_off_targets(cwd: Path) -> list[Target]:
    """The Jenkinsfile when there is one, and the `.env` Earthly reads from its working directory."""
    targets = [Target(cwd / "Jenkinsfile", "jenkinsfile")] if (cwd / "Jenkinsfile").is_file() else []
    # Earthly reads .env from its working directory; create it when nothing else would carry the setting.
    if (cwd / ".env").is_file() or not targets:
        targets.append(Target(cwd / ".env", "envfile"))
    return targets
