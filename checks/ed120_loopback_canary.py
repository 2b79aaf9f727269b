"""ED120: the canary probe: can the daemon reach a port on this namespace's loopback?"""

from __future__ import annotations

from dataclasses import dataclass

from earthly_doctor.check import Check, CheckDoc, Published
from earthly_doctor.vocabulary import LATENT_EXPORT_PATHS
from earthly_doctor.context import Context, FactError
from earthly_doctor.model import Evidence, Finding, Severity


@dataclass(frozen=True)
class Canary(Published):
    """ED120: the canary pull from this namespace's loopback: the port, what the daemon said, what arrived."""

    code = "ED120"
    port: int | None = None
    daemon_outcome: str | None = None  # reached | refused | timeout | error
    daemon_error: str | None = None
    tls_only: bool | None = None  # the daemon arrived but spoke only TLS (127.0.0.0/8 not insecure)


class LoopbackCanary(Check):
    code = "ED120"
    title = "Daemon reaches this namespace's loopback"
    category = "probe"
    needs = ("docker", "canary", "earthly_settings")
    fixable = True
    remedies = ("disable-proxy", "host-network", "pinned-port")
    doc = CheckDoc(
        what="Opens a throwaway registry on 127.0.0.1:<free port> here and asks the Docker daemon to pull "
        "127.0.0.1:<port>/earthly-doctor-probe/<nonce>:x from it. The listener 404s every manifest, so nothing is pulled.",
        why="Earthly (v0.8.0+) exports every SAVE IMAGE by making the daemon pull from a proxy on 127.0.0.1:<random port> "
        "in Earthly's own namespace. If the daemon's 127.0.0.1 is another loopback, that pull ends in "
        "`dial tcp 127.0.0.1:<port>: connect: connection refused`. This probe reproduces exactly that, in milliseconds.",
        example="ED120 fail: the daemon could not reach 127.0.0.1:41234 here: "
        'Get "http://127.0.0.1:41234/v2/": dial tcp 127.0.0.1:41234: connect: connection refused',
        fix="Set EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true, or run Earthly in the daemon's network namespace "
        "(`--network host` when the daemon is the host's), or pin exports to buildkitd's 127.0.0.1:8371.",
    )

    def run(self, ctx: Context) -> Finding:
        if (skipped := self.skip_without_daemon(ctx)) is not None:
            return skipped
        try:
            result = ctx.fact("canary")
        except FactError as exc:
            return self.error(f"the canary probe did not finish: {exc}", remedies=[])
        attempt = result.attempt
        evidence = [
            Evidence("port", result.port, "canary listener on 127.0.0.1"),
            Evidence("reference", attempt.reference, "canary"),
            Evidence("nonce_arrived", result.nonce_seen, "canary listener request log"),
            Evidence("requests_seen", [f"{h.method} {h.path}".strip() for h in result.hits], "canary listener request log"),
            Evidence("daemon_outcome", attempt.outcome, "docker API /images/create"),
        ]
        if attempt.daemon_error:
            evidence.append(Evidence("daemon_error", attempt.daemon_error, "docker API /images/create"))
        published = Canary(result.port, attempt.outcome, attempt.daemon_error or None,
                           bool(result.tls_only) if result.reachable is True else None)
        if result.reachable is True:
            if result.tls_only:
                return self.warn(
                    f"the daemon reached 127.0.0.1:{result.port} here but spoke TLS: 127.0.0.0/8 is not an insecure "
                    "registry on this daemon, so Earthly's plain-HTTP proxy would fail differently (see ED112)",
                    evidence=evidence,
                    published=published,
                    remedies=["disable-proxy"],
                )
            return self.passed(
                f"the daemon reached the canary on 127.0.0.1:{result.port} (nonce arrived): "
                "it shares this loopback, so an Earthly running here reaches its registry proxy",
                evidence=evidence,
                published=published,
                remedies=[],
            )
        if result.reachable is False:
            settings = ctx.try_fact("earthly_settings")
            if settings is not None and settings.export_path in LATENT_EXPORT_PATHS:
                # The gap is real but Earthly would not use the proxy: a latent problem, not this build's failure.
                evidence.append(Evidence("export_path", settings.export_path, settings.export_detail))
                return self.warn(
                    f"the daemon could not reach 127.0.0.1:{result.port} in this namespace, but Earthly would not use "
                    f"the proxy here ({settings.export_detail}): {attempt.daemon_error}",
                    severity=Severity.LOW,
                    evidence=evidence,
                    published=published,
                )
            return self.fail(
                f"the daemon could not reach 127.0.0.1:{result.port} in this namespace: {attempt.daemon_error}",
                severity=Severity.HIGH,
                evidence=evidence,
                published=published,
            )
        return self.warn(
            f"undecided: the daemon neither reached the canary nor was refused ({attempt.outcome}): {attempt.daemon_error}",
            evidence=evidence,
            published=published,
        )
