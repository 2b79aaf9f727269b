"""Log triage: find known failure signatures in Jenkins/Earthly build logs, streaming, in flat memory.

The scanner API (for `triage`, the Jenkins client and `earthly-doctor run`):

    from earthly_doctor.triage import Scanner, load_signatures
    scanner = Scanner()                      # or Scanner(load_signatures(["my/sigs"]), on_match=callback)
    for chunk in response.iter_content(1 << 20):
        for match in scanner.feed(chunk):    # any chunk size or split; returns matches as lines complete
            ...
    scanner.finish()                         # the last line without a newline; then read the totals:
    scanner.matches, scanner.counts, scanner.lines, scanner.seen("proxy-unreachable")

    for line in process.stdout:              # line by line from a subprocess (str or bytes)
        if any(m.id == PROXY_UNREACHABLE for m in scanner.feed_line(line)):
            ...                              # the unreachable-proxy signature just matched

A `Match` has `signature` (the Signature; `.id` is its id), `line`, `text`, `timestamp`, `stage`, `node`,
`fields` (port, session, image_index, store, target, …) and `context` (the `pull ping error` line before).
`findings_from_scan(scanner, source)` turns a finished scan into ED160 `Finding`s; `open_log(path)` yields the
byte chunks of a file, a gzip file or stdin (`-`); `with open_stream(path) as s: scanner.feed_stream(s)` reads
one straight into the scan buffer. `on_match` sees every match; `matches` keeps the first
`keep` (50) per signature, `counts` counts all (a line repeating one already matched is counted from
its remembered verdict: see scanner.py). The signatures are data: `signatures/*.toml`; their anchors, with the Pipeline markers that change
the stage, are found in one pass (`finders.py`: Hyperscan, or `bytearray.find` where the wheel is missing;
`Scanner(finder="python")` or EARTHLY_DOCTOR_SCANNER=python picks the fallback). `scanner.anchor_hits` says how
often each anchor occurred, as `grep -F -o | wc -l` would. A big log file is scanned in parts by forked processes
and stitched into the one-pass result (`split.scan_split`, `part.py`; `library.triage_findings` uses it), and a big
scan counts newlines and checks repeated lines with numpy (`vector.py`).
"""

from __future__ import annotations

from earthly_doctor.triage.findings import findings_from_scan
from earthly_doctor.triage.scanner import PROXY_UNREACHABLE, Match, Scanner, scan_chunks, scan_text
from earthly_doctor.triage.library import load_signatures
from earthly_doctor.triage.signatures import Signature, SignatureError
from earthly_doctor.triage.sources import open_log, open_stream

__all__ = [
    "PROXY_UNREACHABLE",
    "Match",
    "Scanner",
    "Signature",
    "SignatureError",
    "findings_from_scan",
    "load_signatures",
    "open_log",
    "open_stream",
    "scan_chunks",
    "scan_text",
]
