"""Earthly's settings vocabulary, spelled once: the variable and flag that turn the registry proxy off, the
prefixes (EarthBuild reads `EARTH_` before `EARTHLY_`), the subcommands that never export an image, the export
paths ED140 names, and Go's boolean spellings (`gobool`, re-exported). Facts in research/earthly.md §2.
"""

from __future__ import annotations

from earthly_doctor.gobool import GO_FALSE, GO_TRUE, parse_go_bool

__all__ = [
    "BUILDKITD_PORT",
    "EARTHBUILD_PREFIX",
    "EARTHBUILD_PROXY_VARIABLE",
    "EARTHLY_PREFIX",
    "GO_FALSE",
    "GO_TRUE",
    "LATENT_EXPORT_PATHS",
    "NON_BUILD_SUBCOMMANDS",
    "PINNED_REGISTRY",
    "PROXY_FLAG",
    "PROXY_SETTING",
    "PROXY_VARIABLE",
    "PROXY_VARIABLES",
    "parse_go_bool",
    "proxy_variables",
]

EARTHLY_PREFIX = "EARTHLY_"
EARTHBUILD_PREFIX = "EARTH_"  # the EarthBuild fork; it still reads EARTHLY_ after EARTH_
PROXY_SETTING = "DISABLE_REMOTE_REGISTRY_PROXY"
PROXY_VARIABLE = EARTHLY_PREFIX + PROXY_SETTING
EARTHBUILD_PROXY_VARIABLE = EARTHBUILD_PREFIX + PROXY_SETTING
PROXY_VARIABLES = (PROXY_VARIABLE, EARTHBUILD_PROXY_VARIABLE)
PROXY_FLAG = "--disable-remote-registry-proxy"  # a global flag: it counts only before the target

BUILDKITD_PORT = 8371  # earthly-buildkitd's registry, published on the daemon's 127.0.0.1 (plus PortOffset)
PINNED_REGISTRY = f"tcp://127.0.0.1:{BUILDKITD_PORT}"  # local_registry_host for the pinned-port path

# Earthly subcommands that never export an image, so never touch the proxy (`earthly build +t` is the old verb).
NON_BUILD_SUBCOMMANDS = frozenset({
    "account", "billing", "bootstrap", "cloud", "config", "doc", "docs", "help", "init", "ls", "org", "project",
    "prune", "registry", "sat", "satellite", "secret", "secrets", "upgrade", "version", "web",
})

# ED140's export paths that never touch the registry proxy (the failure cannot happen with them).
LATENT_EXPORT_PATHS = frozenset({"none", "tar", "buildkitd-8371"})


def proxy_variables(product: str | None) -> list[str]:
    """The variables that disable the proxy for this program: earthly, earthbuild, or both for a wrapper (None)."""
    if product == "earthbuild":
        return [EARTHBUILD_PROXY_VARIABLE]
    if product == "earthly":
        return [PROXY_VARIABLE]
    return list(PROXY_VARIABLES)
