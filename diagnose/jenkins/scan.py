"""The seam between Jenkins log reading and the log scanner (`earthly_doctor.triage`): bytes in, matches out.

`Scanning` loads the signature set once per run and hands every log read a fresh streaming `Scanner` over it.
`Sniffer` picks the facts Jenkins does not export for a Pipeline build out of the same bytes: the agent
(`Running on NODE in …`) and the Earthly version (`earthly version vX.Y.Z …`).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

# Signature statuses that count as a hit of a build; `pass` ones (look-alikes, informational lines) do not.
HIT_STATUSES = ("fail", "warn", "error")


class Scanning:
    """The signatures for a run (built-ins plus `--signatures DIR`), loaded and validated once."""

    def __init__(self, signature_dirs: Iterable[str] = ()) -> None:
        from earthly_doctor.triage import load_signatures

        self.signatures = load_signatures(list(signature_dirs))

    def __call__(self) -> Any:
        from earthly_doctor.triage import Scanner

        return Scanner(self.signatures)


def is_hit(match: Any) -> bool:
    # A fallback ("the build failed") says nothing Jenkins' own build result does not: it is no hit here.
    if getattr(match.signature, "fallback", False):
        return False
    return getattr(match.signature.status, "value", match.signature.status) in HIT_STATUSES


_FACTS = re.compile(rb"Running on (?P<node>[^\s\x1b]+) in |earthly(?:/earthly:| version )v?(?P<version>\d+\.\d+\.\d+)")


class Sniffer:
    """First agent and Earthly version seen in a byte stream; a small overlap covers matches across chunks."""

    def __init__(self) -> None:
        self.node: str | None = None
        self.version: str | None = None
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        if self.node and self.version:
            return
        data = self._tail + chunk
        for match in _FACTS.finditer(data):
            if match.group("node") and not self.node:
                self.node = match.group("node").decode("utf-8", "replace")
            if match.group("version") and not self.version:
                self.version = "v" + match.group("version").decode()
            if self.node and self.version:  # the first of each is all that is kept: the rest need not be looked at
                break
        self._tail = data[-200:]
