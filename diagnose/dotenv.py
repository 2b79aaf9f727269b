"""The one `.env` reader, following godotenv (joho/godotenv v1.5 `parser.go`), which Earthly calls before it
reads its flags (research/earthly.md §2.1): what a value means here is what it means to Earthly.

The format, as godotenv parses it: blank lines and `#` lines are skipped; `export ` may lead; the key ends at `=`
(or `:`, the YAML style) and may hold letters, digits, `_` and `.`; an unquoted value runs to the end of the line,
loses a ` #comment` (a `#` after whitespace) and surrounding blanks, and expands `$VAR`/`${VAR}`; a single-quoted
value is literal and may span lines; a double-quoted one may span lines, turns `\\n`/`\\r` into line breaks, drops
other backslashes (but `\\$`) and expands variables. Variables expand from the file's earlier keys, then the
environment. Anything else is an error, and Earthly stops on it ("Error loading dot-env file").
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Mapping

_SPACE = "\t\v\f\r \x85\xa0"  # godotenv's isSpace: blanks, never a line break
_ESCAPE = re.compile(r"\\.")
_UNESCAPE = re.compile(r"\\([^$])")
_VARIABLE = re.compile(r"(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?")
MAX_BYTES = 1 << 20  # a settings file, not data: read at most this much


class DotenvError(ValueError):
    """The file is not what godotenv accepts; the message is godotenv's reason, in one line."""


def _expand(value: str, known: Mapping[str, str], environ: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1) == "\\" or m.group(3) == "(":
            return m.group(0)[1:]
        name = m.group(4)
        if name:
            return known[name] if name in known else environ.get(name, "")
        return m.group(0)

    return _VARIABLE.sub(one, value)


def _unescape(value: str) -> str:
    value = _ESCAPE.sub(lambda m: {"\\n": "\n", "\\r": "\r"}.get(m.group(0), m.group(0)), value)
    return _UNESCAPE.sub(r"\1", value)


def _key(src: str) -> tuple[str, str]:
    """The key at the start of `src` and the text after its `=` or `:`."""
    src = src.lstrip(_SPACE)
    if src.startswith("export") and src[6:7] and src[6] in _SPACE:
        src = src[6:].lstrip(_SPACE)
    for i, char in enumerate(src):
        if char in _SPACE:
            continue
        if char in "=:":
            return src[:i].rstrip(), src[i + 1 :].lstrip(_SPACE)
        if not (char in "_." or char.isalnum()):
            raise DotenvError(f"unexpected character {char!r} in variable name near {src[:40]!r}")
    raise DotenvError(f"no '=' after {src[:40]!r}")


def _value(src: str, known: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, str]:
    """The value at the start of `src` and the rest of the text."""
    quote = src[:1]
    if quote not in ("'", '"'):
        end = next((i for i, c in enumerate(src) if c in "\r\n"), len(src))
        line = src[:end]
        cut = len(line)
        for i in range(len(line) - 1, 0, -1):  # the last `#` after a blank starts a comment
            if line[i] == "#" and line[i - 1] in _SPACE:
                cut = i
                break
        return _expand(line[:cut].strip(_SPACE), known, environ), src[end:]
    for i in range(1, len(src)):
        if src[i] == quote and src[i - 1] != "\\":
            value = src[:i].strip(quote)
            if quote == '"':
                value = _expand(_unescape(value), known, environ)
            return value, src[i + 1 :]
    raise DotenvError(f"unterminated quoted value {src.splitlines()[0][:40]}")


def parse_dotenv(text: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every key the file sets, as godotenv reads it (the last assignment wins); DotenvError when godotenv fails."""
    environ = environ or {}
    src = text.replace("---\n", "\n").replace("\r\n", "\n")
    values: dict[str, str] = {}
    while True:
        src = src.lstrip()
        while src.startswith("#"):
            newline = src.find("\n")
            src = "" if newline < 0 else src[newline:].lstrip()
        if not src:
            return values
        key, src = _key(src)
        value, src = _value(src, values, environ)
        values[key] = value


def read_dotenv(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The file's keys ({} when it does not exist or cannot be read); DotenvError when godotenv would fail."""
    try:
        # Non-blocking, and regular files only: a FIFO or a device named .env must not hang the run.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        data = os.read(fd, MAX_BYTES)
    except OSError:
        return {}
    finally:
        os.close(fd)
    return parse_dotenv(data.decode("utf-8", errors="replace"), environ)
