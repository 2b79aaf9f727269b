"""The signature library (built-in plus the users', whose fixtures must pass the real scanner) and log scans with it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

from earthly_doctor.model import Finding
from earthly_doctor.triage.findings import findings_from_scan
from earthly_doctor.triage.scanner import Scanner, fixture_failures
from earthly_doctor.triage.signatures import Signature, SignatureError, read_signatures


def load_signatures(extra_dirs: Iterable[str | Path] = (), *, builtin: bool = True) -> tuple[Signature, ...]:
    """The built-in signatures plus the users' (`--signatures DIR`), validated; user fixtures are run too."""
    sigs, user = read_signatures(extra_dirs, builtin=builtin)
    if user:
        problems = fixture_failures(sigs, only=user)
        if problems:
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            raise SignatureError(f"signature fixtures fail: {problems[0]}{more}")
    return sigs


def check_logs(logs: Iterable[str], signature_dirs: Iterable[str] = ()) -> None:
    """Fail early, in one line, on a log that cannot be read or a signature folder that cannot be used."""
    from earthly_doctor.triage.sources import check_readable

    load_signatures(list(signature_dirs))
    for path in logs:
        check_readable(path)


def scan_whole(path: str, signatures: tuple[Signature, ...]) -> Scanner:
    """One pass over a log (a file, a gzip file or stdin)."""
    from earthly_doctor.triage.sources import open_stream

    scanner = Scanner(signatures)
    with open_stream(path) as stream:
        scanner.feed_stream(stream)
    scanner.finish()
    return scanner


def triage_findings(logs: list[str], signature_dirs: list[str] | None = None) -> list[Finding]:
    """ED160 findings for each log, in order; a missing or unreadable log is a DoctorError before any scan."""
    from earthly_doctor.triage.sources import check_readable, display_name
    from earthly_doctor.triage.split import scan_split

    signatures = load_signatures(signature_dirs or [])
    for path in logs:
        check_readable(path)
    findings: list[Finding] = []
    for path in logs:
        began = time.monotonic()
        scanner = scan_split(path, signatures) or scan_whole(path, signatures)
        findings += findings_from_scan(scanner, display_name(path), int((time.monotonic() - began) * 1000))
    return findings
