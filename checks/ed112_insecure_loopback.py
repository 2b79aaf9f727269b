"""ED112: 127.0.0.0/8 still among the daemon's insecure registries (plain HTTP to loopback allowed)."""

from __future__ import annotations

import ipaddress

from earthly_doctor.check import Check, CheckDoc
from earthly_doctor.context import Context
from earthly_doctor.model import Evidence, Finding, Severity


class InsecureLoopback(Check):
    code = "ED112"
    title = "127.0.0.0/8 insecure on the daemon"
    category = "docker"
    needs = ("docker", "canary")
    remedies = ("disable-proxy",)
    doc = CheckDoc(
        what="Reads `RegistryConfig.InsecureRegistryCIDRs` (and `IndexConfigs`) from `/info` and checks that "
        "127.0.0.1 is still inside an insecure range (Docker's default `127.0.0.0/8`).",
        why="Earthly's proxy and buildkitd's 8371 speak plain HTTP. Docker pulls over plain HTTP only from insecure "
        "registries; without 127.0.0.0/8 the daemon insists on TLS and the pull fails differently (the canary's "
        "listener then sees only a TLS ClientHello).",
        example="ED112 fail: InsecureRegistryCIDRs is ['10.0.0.0/8']: plain-HTTP pulls from 127.0.0.1 are refused",
        fix="Put 127.0.0.0/8 back into daemon.json `insecure-registries` (or remove the setting that dropped it) and "
        "restart the daemon; or disable the registry proxy so a remote BuildKit exports by tar. On Podman: "
        "Earthly's podman frontend, or [[registry]] location = \"127.0.0.1\", insecure = true in registries.conf.",
    )

    def run(self, ctx: Context) -> Finding:
        if (skipped := self.skip_without_daemon(ctx)) is not None:
            return skipped
        handle = ctx.fact("docker")
        config = handle.info.get("RegistryConfig")
        if not isinstance(config, dict):
            return self.skip("the daemon's /info has no RegistryConfig", remedies=[])
        cidrs = list(config.get("InsecureRegistryCIDRs") or [])
        evidence = [Evidence("insecure_cidrs", cidrs, "docker API /info RegistryConfig.InsecureRegistryCIDRs")]
        loopback = ipaddress.ip_address("127.0.0.1")
        covered = any(loopback in ipaddress.ip_network(c, strict=False) for c in cidrs if _valid(c))
        indexes = [k for k, v in (config.get("IndexConfigs") or {}).items()
                   if k.startswith(("127.", "localhost")) and isinstance(v, dict) and v.get("Secure") is False]
        if indexes:
            evidence.append(Evidence("insecure_indexes", indexes, "docker API /info RegistryConfig.IndexConfigs"))
        if covered:
            return self.passed("127.0.0.1 is inside an insecure registry range: plain-HTTP pulls from loopback are allowed",
                               evidence=evidence, remedies=[])
        canary = ctx.try_fact("canary")
        if canary is not None:
            evidence.append(Evidence("canary_tls_only", canary.tls_only, "ED120 canary listener (first byte 0x16)"))
        note = " (the canary saw only TLS: proven)" if canary is not None and canary.tls_only else ""
        if handle.engine == "podman":
            # Podman has no insecure-registries setting of its own: registries.conf decides, per registry.
            return self.fail(f"{handle.flavour} will not pull plain HTTP from 127.0.0.1: registries.conf does not mark "
                             f"it insecure{note}", severity=Severity.HIGH, evidence=evidence,
                             remedies=["podman-frontend", "podman-insecure-loopback"])
        if indexes:
            return self.warn(f"127.0.0.0/8 is not insecure, only {', '.join(indexes)}: other loopback ports need TLS{note}",
                             evidence=evidence)
        return self.fail(f"127.0.0.0/8 is missing from the insecure registries: the daemon will not pull plain HTTP from "
                         f"127.0.0.1{note}", severity=Severity.HIGH, evidence=evidence)


def _valid(cidr: str) -> bool:
    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return True
