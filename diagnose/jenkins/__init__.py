"""Triage Earthly failures straight from a Jenkins server.

- `client`: credentials (environment or netrc, never argv), python-jenkins for auth and JSON, streamed log reads
  through the same authenticated session, and one clear line for every failure.
- `logs`: how one build's log is read: the failing step's log or the tail first, then the whole log, always in
  chunks; running builds are followed with `progressiveText` until complete or a deadline.
- `triage`: many builds on a bounded thread pool, and the per-signature summary (builds, nodes, labels, Earthly
  versions, first/last seen, red herrings that also show up in green builds).
"""

# Requests to the server in flight at most, by default (`--workers`): the most the first design could put on a server
# (8 builds, each with a log and a stages request), now kept busy (`bounded.Limits.slots`).
WORKERS = 16
