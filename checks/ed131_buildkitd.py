"""ED131: the earthly-buildkitd container: running, 127.0.0.1:8371 published, reachable from the daemon."""

from __future__ import annotations

from dataclasses import dataclass

from earthly_doctor.check import Check, CheckDoc, Published
from earthly_doctor.context import Context, FactError
from earthly_doctor.model import Evidence, Finding


@dataclass(frozen=True)
class Buildkitd(Published):
    """ED131: whether exports can be pinned to earthly-buildkitd's 127.0.0.1:8371 (published, and the daemon
    reaches it)."""

    code = "ED131"
    pinned_port_ok: bool | None = None  # None: not known (no earthly-buildkitd yet, or it is stopped)


class BuildkitdRegistry(Check):
    code = "ED131"
    title = "earthly-buildkitd and port 8371"
    category = "earthly"
    needs = ("buildkitd", "earthly_settings", "docker")
    doc = CheckDoc(
        what="Looks up the BuildKit container Earthly manages on this daemon (`EARTHLY_CONTAINER_NAME`, else "
        "`<installation>-buildkitd`, i.e. `earthly-buildkitd`), checks that it runs and publishes "
        "`127.0.0.1:8371/tcp` (8371 + the installation's port offset), and asks the daemon to reach that port with "
        "the canary method (a digest that cannot exist, so nothing is pulled).",
        why="With the registry proxy disabled and a local BuildKit, Earthly exports through buildkitd's embedded "
        "registry on 127.0.0.1:8371, published on the daemon's own loopback, so it works from any container. "
        "That 'pinned-port' path is only a remedy when this check passes.",
        example="ED131 pass: earthly-buildkitd runs, publishes 127.0.0.1:8371, and the daemon reaches it",
        fix="Let Earthly (re)start earthly-buildkitd (`docker rm -f earthly-buildkitd`, then build); do not set "
        "EARTHLY_WITH_DOCKER=1 outside Earthly; keep local_registry_host at tcp://127.0.0.1:8371.",
    )

    def run(self, ctx: Context) -> Finding:
        if (skipped := self.skip_without_daemon(ctx)) is not None:
            return skipped
        try:
            bk = ctx.fact("buildkitd")
        except FactError as exc:
            return self.error(f"could not inspect the buildkitd container: {exc}", remedies=[])
        settings = ctx.try_fact("earthly_settings")
        evidence = [Evidence("container", bk.name, "EARTHLY_CONTAINER_NAME / installation name"),
                    Evidence("port", bk.port, "8371 + PortOffset(installation)")]
        if settings is not None and not settings.buildkit_local:
            evidence.append(Evidence("buildkit_host", settings.buildkit_host.value, settings.buildkit_host.source))
        if not bk.found:
            remote = settings is not None and not settings.buildkit_local
            why = ("BuildKit is remote, so Earthly does not use it" if remote
                   else "Earthly starts it on the first build")
            return self.skip(f"no {bk.name} container on this daemon ({why})", evidence=evidence, remedies=[])
        evidence += [Evidence("status", bk.status, "docker API /containers/<name>/json State"),
                     Evidence("image", bk.image, "docker API Config.Image"),
                     Evidence("bindings", bk.bindings, f"docker API NetworkSettings.Ports {bk.port}/tcp")]
        if not bk.running:
            return self.warn(f"{bk.name} exists but is {bk.status or 'not running'}", evidence=evidence, remedies=[])
        if not bk.published:
            return self.warn(f"{bk.name} runs but does not publish 127.0.0.1:{bk.port} (EARTHLY_WITH_DOCKER=1, or started "
                             "with the proxy on): the pinned-port path is not available", evidence=evidence, remedies=[],
                             published=Buildkitd(pinned_port_ok=False))
        r = bk.reach
        evidence += [Evidence("reach", r.outcome, "docker API /images/create"), Evidence("reference", r.reference, "probe")]
        if r.daemon_error:
            evidence.append(Evidence("daemon_error", r.daemon_error, "docker API /images/create"))
        if r.outcome == "reached":
            return self.passed(f"{bk.name} runs, publishes 127.0.0.1:{bk.port}, and the daemon reaches it", evidence=evidence,
                               remedies=[], published=Buildkitd(pinned_port_ok=True))
        return self.fail(f"{bk.name} publishes 127.0.0.1:{bk.port} but the daemon cannot reach it ({r.outcome}): {r.daemon_error}",
                         evidence=evidence, remedies=[], published=Buildkitd(pinned_port_ok=False))
