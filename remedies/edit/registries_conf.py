"""containers-registries.conf(5): mark 127.0.0.1 insecure, with a TOML round trip that keeps comments and order.

Version 2 files get a `[[registry]]` table `location = "127.0.0.1"`, `insecure = true` (or that key set on an
existing 127.0.0.1 table); version 1 files (`[registries.insecure] registries = [...]`) get "127.0.0.1" appended,
since containers/image refuses a file mixing both. A location without a port matches any port of that host
(sysregistriesv2's prefix match; measured with Podman 4.3: a pull from 127.0.0.1:<random port> then falls back to
plain HTTP), which is what Earthly's proxy on a random port needs.
"""

from __future__ import annotations

from typing import Any

from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, newline_of

LOOPBACK = "127.0.0.1"


def _parse(text: str) -> Any:
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise EditRefused(getattr(exc, "line", 0) or 0, f"not valid TOML: {exc}") from exc


def edit_insecure_loopback(text: str) -> EditOutcome:
    import tomlkit

    nl = newline_of(text) if text else "\n"
    doc = _parse(text.replace("\r\n", "\n"))
    registries = doc.get("registries")
    if registries is not None and not isinstance(registries, dict):
        raise EditRefused(0, "`registries` is not a table")
    if isinstance(registries, dict) and "insecure" in registries:  # version 1 format
        insecure = registries["insecure"]
        listed = insecure.get("registries") if isinstance(insecure, dict) else None
        if not isinstance(listed, list):
            raise EditRefused(0, "[registries.insecure] has no `registries` list")
        if LOOPBACK in listed:
            return EditOutcome(text, already=[f"[registries.insecure] already lists {LOOPBACK}"])
        listed.append(LOOPBACK)
        change = f"[registries.insecure]: added {LOOPBACK!r} to registries"
    else:
        tables = doc.get("registry")
        if tables is not None and not isinstance(tables, list):
            raise EditRefused(0, "`registry` is not an array of tables")
        mine = [t for t in tables or [] if isinstance(t, dict) and
                (t.get("location") == LOOPBACK or (t.get("prefix") == LOOPBACK and not t.get("location")))]
        if mine and all(t.get("insecure") is True for t in mine):
            return EditOutcome(text, already=[f"[[registry]] {LOOPBACK} is already insecure = true"])
        if mine:
            for t in mine:
                t["insecure"] = True
            change = f"[[registry]] location = {LOOPBACK!r}: set insecure = true"
        else:
            table = tomlkit.table()
            table.add(tomlkit.comment("earthly-doctor: Earthly's registry proxy is plain HTTP on 127.0.0.1:<port>"))
            table.add("location", LOOPBACK)
            table.add("insecure", True)
            if tables is None:
                aot = tomlkit.aot()
                aot.append(table)
                doc.append("registry", aot)
            else:
                tables.append(table)
            change = f"added [[registry]] location = {LOOPBACK!r}, insecure = true"
    new = tomlkit.dumps(doc)
    if nl == "\r\n":
        new = new.replace("\r\n", "\n").replace("\n", "\r\n")
    _check(new)
    return EditOutcome(new, [change])


def _check(new: str) -> None:
    """The result must still parse and say what we meant: a round-trip bug must never reach the disk."""
    doc = _parse(new.replace("\r\n", "\n"))
    registries = doc.get("registries")
    v1 = registries.get("insecure", {}).get("registries", []) if isinstance(registries, dict) else []
    v2 = [t for t in doc.get("registry", []) or [] if t.get("insecure") is True and
          LOOPBACK in (t.get("location"), t.get("prefix"))]
    if LOOPBACK not in v1 and not v2:
        raise EditRefused(0, "the TOML round trip did not keep the edit; mark 127.0.0.1 insecure yourself")
