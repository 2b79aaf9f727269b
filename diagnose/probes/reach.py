"""Can the daemon reach a *live* port on its 127.0.0.1 (Earthly's proxy, buildkitd's 8371)? The canary method,
aimed at a port we do not own, with a request that cannot change state.

The pull names a repository with our nonce and a digest made of that nonce: a registry either 404s it or serves
a manifest whose content cannot hash to that digest, so the daemon never stores anything.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from earthly_doctor.probes.canary import PROBE_REPO, ask_daemon_to_pull


@dataclass
class Reach:
    port: int
    outcome: str  # reached | refused | timeout
    reference: str
    daemon_error: str | None
    elapsed_ms: int


def daemon_reaches(client: Any, port: int, timeout: float) -> Reach:
    nonce = secrets.token_hex(8)
    digest = "sha256:" + hashlib.sha256(f"earthly-doctor {nonce}".encode()).hexdigest()
    attempt = ask_daemon_to_pull(client, "127.0.0.1", port, f"{PROBE_REPO}/{nonce}", digest, timeout)
    outcome = attempt.outcome if attempt.outcome in ("refused", "timeout") else "reached"
    reference = f"127.0.0.1:{port}/{PROBE_REPO}/{nonce}@{digest}"
    return Reach(port, outcome, reference, attempt.daemon_error, attempt.elapsed_ms)
