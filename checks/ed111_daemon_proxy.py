"""ED111: an HTTP(S) proxy on the daemon without a NO_PROXY that covers 127.0.0.1 / localhost."""

from __future__ import annotations

import ipaddress
import re

from earthly_doctor.check import Check, CheckDoc
from earthly_doctor.context import Context
from earthly_doctor.model import Evidence, Finding, Severity

_LOOPBACK = ipaddress.ip_address("127.0.0.1")


def _mask(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//xxxxx:xxxxx@", url)


def covers_loopback(no_proxy: str) -> bool:
    for entry in (e.strip() for e in no_proxy.split(",")):
        host = entry.split(":", 1)[0] if entry.count(":") == 1 else entry
        if host in ("*", "127.0.0.1", "localhost", ".localhost"):
            return True
        try:
            if _LOOPBACK in ipaddress.ip_network(host, strict=False):
                return True
        except ValueError:
            continue
    return False


class DaemonHttpProxy(Check):
    code = "ED111"
    title = "Daemon HTTP proxy and loopback"
    category = "docker"
    needs = ("docker", "canary")
    fixable = True
    remedies = ("daemon-no-proxy",)
    doc = CheckDoc(
        what="Reads the daemon's `HttpProxy`, `HttpsProxy` and `NoProxy` from `/info` and checks whether NO_PROXY "
        "covers 127.0.0.1 or localhost. When a proxy is set without that, it looks at the canary's result: Go's "
        "net/http ProxyFromEnvironment (golang.org/x/net/http/httpproxy useProxy) never proxies localhost or "
        "loopback IPs, and a real dockerd with HTTP_PROXY set still reaches the canary, so this is a warning "
        "unless the canary's error shows the proxy in the way (`proxyconnect`).",
        why="A daemon that sent `docker pull 127.0.0.1:<port>` through a proxy would ask the proxy's loopback, not "
        "its own; some corporate daemons and mirrors do capture everything.",
        example="ED111 warn: the daemon uses HTTP proxy http://proxy:3128 and NO_PROXY does not cover 127.0.0.1; "
        "Go exempts loopback anyway and the canary reached 127.0.0.1 (ED120)",
        fix="Add 127.0.0.1,localhost to the daemon's NO_PROXY (systemd drop-in Environment= or daemon.json "
        "`proxies.no-proxy`) and restart it.",
    )

    def run(self, ctx: Context) -> Finding:
        if (skipped := self.skip_without_daemon(ctx)) is not None:
            return skipped
        handle = ctx.fact("docker")
        info = handle.info
        http, https, no = (str(info.get(k) or "") for k in ("HttpProxy", "HttpsProxy", "NoProxy"))
        evidence = [
            Evidence("http_proxy", _mask(http) or None, "docker API /info HttpProxy"),
            Evidence("https_proxy", _mask(https) or None, "docker API /info HttpsProxy"),
            Evidence("no_proxy", no or None, "docker API /info NoProxy"),
        ]
        if not http and not https:
            return self.passed("the daemon uses no HTTP(S) proxy", evidence=evidence, remedies=[])
        proxy = _mask(http or https)
        if covers_loopback(no):
            return self.passed(f"the daemon uses proxy {proxy}; NO_PROXY covers 127.0.0.1", evidence=evidence, remedies=[])
        canary = ctx.try_fact("canary")
        error = (canary.attempt.daemon_error or "") if canary is not None else ""
        if canary is not None:
            evidence.append(Evidence("canary_outcome", canary.attempt.outcome, "ED120 canary (docker API /images/create)"))
        if "proxyconnect" in error.lower():
            evidence.append(Evidence("daemon_error", error, "docker API /images/create"))
            return self.fail(f"the daemon sends loopback pulls to its proxy {proxy}: {error}", severity=Severity.HIGH,
                             evidence=evidence, remedies=["daemon-no-proxy", "disable-proxy"])
        proof = (" and the canary reached 127.0.0.1 (ED120), so the proxy is not in the way"
                 if canary is not None and canary.reachable else "; ED120 decides")
        return self.warn(
            f"the daemon uses proxy {proxy} and NO_PROXY does not cover 127.0.0.1/localhost; Go's ProxyFromEnvironment "
            f"never proxies loopback addresses{proof}",
            severity=Severity.LOW, evidence=evidence,
        )
