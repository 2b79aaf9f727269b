"""The workspace `.env` file, which Earthly loads (godotenv) before it reads its flags."""

from __future__ import annotations

import re

from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, Lines, Splicer, newline_of
from earthly_doctor.dotenv import DotenvError, parse_dotenv
from earthly_doctor.vocabulary import GO_TRUE, PROXY_VARIABLES

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
    try:
        values = parse_dotenv(text)  # what Earthly reads: godotenv, where the last assignment wins
    except DotenvError as exc:
        raise EditRefused(0, f"Earthly cannot load this .env ({exc})") from None
    # Earthly reads only EARTHLY_…; EarthBuild reads both spellings, EARTH_ first.
    for name in [key] if not key.startswith("EARTH_") else [key, *PROXY_VARIABLES]:
        value = values.get(name)
        if value in GO_TRUE:
            last = [m for m in matches if m.group("key") == name][-1:]
            line = lines.line_of(last[0].start()) if last else 0
            return EditOutcome(text, already=[f"line {line}: {name}={value} is already set"])
    # godotenv reads the file top to bottom and the last assignment wins: only that one says what Earthly sees.
    relevant = [m for m in matches if m.group("key") == key or key.startswith("EARTH_")]
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
