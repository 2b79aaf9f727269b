"""ED140: Earthly/EarthBuild version and the effective settings that decide how a SAVE IMAGE is exported."""

from __future__ import annotations

from typing import Any

from dataclasses import dataclass

from earthly_doctor.check import Check, CheckDoc, Published
from earthly_doctor.context import Context
from earthly_doctor.model import Evidence, Finding, Severity


_PATHS = {
    "proxy": "through the registry proxy (docker pull from 127.0.0.1:<random port> in Earthly's namespace)",
    "buildkitd-8371": "through buildkitd's published 127.0.0.1:8371 (the proxy is off)",
    "tar": "as a tar stream into docker load (the proxy is off)",
    "none": "not at all (no local output)",
    "invalid": "not at all: Earthly would exit on an invalid setting",
}


def _version(s: Any) -> str:  # Any: checks read facts without importing the probes that make them
    return "v" + ".".join(map(str, s.version)) if s.version else "unknown version"


@dataclass(frozen=True)
class Settings(Published):
    """ED140: how Earthly would export images here, and the settings that decide it."""

    code = "ED140"
    export_path: str | None = None  # proxy | none | tar | buildkitd-8371 | invalid
    export_source: str | None = None  # why: the setting and where it came from
    proxy_disabled_source: str | None = None
    buildkit_local: bool | None = None  # the local earthly-buildkitd, not a remote BuildKit
    earthly_image: bool | None = None  # running in the earthly/earthly image (EARTHLY_IMAGE)
    container_frontend: str | None = None  # the frontend Earthly would pick: docker-shell | podman-shell | …


class EarthlySettingsCheck(Check):
    code = "ED140"
    title = "Earthly version and export settings"
    category = "earthly"
    needs = ("earthly_settings",)
    fixable = True
    remedies = ("disable-proxy",)
    doc = CheckDoc(
        what="Runs `earthly --version` (or EarthBuild's `earth`) only when the binary is on PATH, and works out the "
        "effective settings the way Earthly does: `EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY` (EarthBuild: "
        "`EARTH_…` first) with Go's strconv.ParseBool (set but empty is false; an invalid value makes Earthly exit), "
        "the `.env` file in the working directory (it never overrides the environment), `--ci`/`EARTHLY_CI` "
        "(no local output at all), `buildkit_host` (local only for 127.0.0.1, ::1, localhost or docker-container://), "
        "`local_registry_host`, and `EARTHLY_IMAGE` (the earthly/earthly image, whose ENV disables the proxy since "
        "v0.8.2), and the container frontend Earthly would pick (`container_frontend` in config.yml, else `docker` "
        "then `podman` on PATH; a `docker` that is Podman's shim still means the docker frontend): with the podman "
        "frontend Earthly never starts the proxy. For each running earthly it also lists the export path its own "
        "flags, variables and working "
        "directory give (evidence only: on a shared host it may be another build).",
        why="The failure needs three things: Earthly v0.8.0 or newer, the proxy enabled, and an image export. Any "
        "setting that removes one of them means the failure cannot happen; an invalid value fails the build earlier.",
        example="ED140 pass: earthly v0.8.15 (affected: v0.8.0 and newer start the registry proxy by default); "
        "SAVE IMAGE exports through the registry proxy",
        fix="Set EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true (or true in ./.env), or pass "
        "--disable-remote-registry-proxy before the target; use a Go bool value (true/false/1/0).",
    )

    def run(self, ctx: Context) -> Finding:
        s = ctx.fact("earthly_settings")
        # This environment decides (the doctor runs where Earthly runs); running processes are told, not trusted:
        # on a shared host they may be someone else's build.
        eff, where = s, f"with the settings of the {s.subject}" if s.subject else "with the settings here"
        evidence = [
            Evidence("binary", s.binary, "PATH"),
            Evidence("version", s.version_text or s.version_error, f"{s.binary} --version" if s.binary else "not on PATH"),
            Evidence("product", s.product, "binary name (earth = EarthBuild)"),
            Evidence("affected", s.affected, s.affected_reason),
            Evidence("proxy_disabled", eff.proxy_disabled.value, eff.proxy_disabled.source),
            Evidence("no_output", eff.no_output.value, eff.no_output.source),
            Evidence("buildkit_host", eff.buildkit_host.value or "(earthly-buildkitd via docker)", eff.buildkit_host.source),
            Evidence("buildkit_local", eff.buildkit_local, "containerutil.IsLocal rule"),
            Evidence("local_registry_host", eff.local_registry_host.value, eff.local_registry_host.source),
            Evidence("earthly_image", s.earthly_image, "EARTHLY_IMAGE"),
            Evidence("container_frontend", eff.frontend.name, eff.frontend.source),
            Evidence("docker_is_podman_shim", eff.frontend.docker_is_podman,
                     eff.frontend.docker or "no docker on PATH"),
            Evidence("proxy_in_play", eff.export_path == "proxy", "export path and container frontend"),
            Evidence("export_path", eff.export_path, eff.export_detail),
        ]
        for pid, other in sorted(s.processes.items()):
            evidence.append(Evidence(f"running:{pid}", f"{other.export_path} (proxy_disabled={other.proxy_disabled.value}: "
                                     f"{other.proxy_disabled.source})", f"/proc/{pid}/environ, cmdline, cwd"))
        if eff.dotenv_path:
            evidence.append(Evidence("dotenv", eff.dotenv_path, f"used: {', '.join(eff.dotenv_used) or 'nothing relevant'}"))
        if s.config_path:
            evidence.append(Evidence("config", s.config_path, "EARTHLY_CONFIG / ~/.earthly/config.yml"))
        name = "EarthBuild" if s.product == "earthbuild" else "Earthly"
        who = f"{name} {_version(s)}" if s.binary else f"{name} not on PATH here"
        published = Settings(eff.export_path, eff.export_detail, eff.proxy_disabled.source, eff.buildkit_local,
                             bool(s.earthly_image), eff.frontend.name)
        if eff.invalid:
            return self.fail(f"{who}: {'; '.join(eff.invalid)}", severity=Severity.HIGH, evidence=evidence,
                             remedies=["disable-proxy"], published=published)
        image_note = ""
        if s.earthly_image and not eff.proxy_disabled.value:
            image_note = (" (EARTHLY_IMAGE=true but the proxy is on: an earthly/earthly image before v0.8.2, "
                          "or the variable was overridden)")
        if eff.export_path == "proxy":
            affected = "affected range" if s.affected else "version unknown, affected from v0.8.0" if s.affected is None else "not affected"
            return self.passed(f"{who} ({affected}); {where}, SAVE IMAGE exports {_PATHS['proxy']}{image_note}",
                               evidence=evidence, remedies=[], published=published)
        return self.passed(f"{who}; {where}, SAVE IMAGE exports {_PATHS[eff.export_path]} ({eff.export_detail}), "
                           "so the registry-proxy failure cannot happen", evidence=evidence, remedies=[], published=published)
