"""The workspace `.env` file, which Earthly loads (godotenv) before it reads its flags."""

from __future__ import annotations

import re

from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, Lines, Splicer, newline_of
from earthly_doctor.gobool import GO_TRUE  # Go strconv.ParseBool, as urfave/cli reads the variable

_LINE = re.compile(
    r"^(?P<lead>[ \t]*(?:export[ \t]+)?)(?P<key>EARTH(?:LY)?_DISABLE_REMOTE_REGISTRY_PROXY)[ \t]*=[ \t]*"
    r"(?P<val>'[^'\r\n]*'|\"[^\"\r\n]*\"|[^\s#]*)",
    re.M,
)


def edit_env_disable_proxy(text: str, key: str = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY") -> EditOutcome:
    lines = Lines(text)
    matches = list(_LINE.finditer(text))
    if "\x00" in text:
        raise EditRefused(0, "the file is binary")
    # godotenv reads the file top to bottom and the last assignment wins: only that one says what Earthly sees.
    relevant = [m for m in matches if m.group("key") == key or key.startswith("EARTH_")]
    if relevant:
        last = relevant[-1]
        value = last.group("val").strip("'\"")
        if value in GO_TRUE:
            line = lines.line_of(last.start())
            return EditOutcome(text, already=[f"line {line}: {last.group('key')}={value} is already set"])
    splicer = Splicer(text)
    changes = []
    if relevant:
        m = relevant[-1]  # the one that wins, so the one to correct
        splicer.replace(m.start("val"), m.end("val"), "true")
        key_set = m.group("key")
        changes.append(f"line {lines.line_of(m.start())}: changed {key_set}={m.group('val')} to {key_set}=true")
    else:
        nl = newline_of(text) if text else "\n"
        prefix = nl if text and not text.endswith("\n") else ""
        splicer.insert(len(text), f"{prefix}{key}=true{nl}")
        new = splicer.apply()
        changes.append(f"line {new.count(chr(10))}: added {key}=true")
        return EditOutcome(new, changes)
    return EditOutcome(splicer.apply(), changes)
