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

import re
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


_BLANK = "[\t\v\f\r \x85\xa0]"
_WHITESPACE = re.compile(r"\s*")
# Possessive: a long run of blanks or letters without `=` fails in linear time, never by backtracking.
_KEY = re.compile(
    rf"{_BLANK}*+(?:export{_BLANK}++)?((?:[\w.]++(?:{_BLANK}++[\w.]++)*+)?){_BLANK}*+[=:]{_BLANK}*+"
)
_LINE_END = re.compile(r"[\r\n]")


def _unquoted(line: str, known: Mapping[str, str], environ: Mapping[str, str]) -> str:
    cut = line.rfind("#")
    while cut > 0 and line[cut - 1] not in _SPACE:  # the last `#` after a blank starts a comment
        cut = line.rfind("#", 0, cut)
    return _expand((line[:cut] if cut > 0 else line).strip(_SPACE), known, environ)


def _quoted(text: str, pos: int, known: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, int]:
    """The quoted value starting at `pos` and the offset after its closing quote (which may be lines later)."""
    quote, end = text[pos], pos + 1
    while True:
        end = text.find(quote, end)
        if end < 0:
            raise DotenvError(f"unterminated quoted value {text[pos : pos + 40].splitlines()[0]}")
        if text[end - 1] != "\\":
            break
        end += 1
    value = text[pos:end].strip(quote)
    if quote == '"':
        value = _expand(_unescape(value), known, environ)
    return value, end + 1


def parse_dotenv(text: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every key the file sets, as godotenv reads it (the last assignment wins); DotenvError when godotenv fails.
    One pass over the text (offsets, no re-slicing), so a large file costs linear time."""
    environ = environ or {}
    text = text.replace("---\n", "\n").replace("\r\n", "\n")
    values: dict[str, str] = {}
    pos, size = 0, len(text)
    while True:
        pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]  # `\s*` always matches
        if pos >= size:
            return values
        if text[pos] == "#":
            newline = text.find("\n", pos)
            if newline < 0:
                return values
            pos = newline
            continue
        key = _KEY.match(text, pos)
        if key is None:
            bad = next((c for c in text[pos : pos + 200] if not (c in "_.=:" or c.isalnum() or c in _SPACE)), "")
            raise DotenvError(f"unexpected character {bad!r} in variable name near {text[pos : pos + 40]!r}")
        pos = key.end()
        if pos < size and text[pos] in "'\"":
            value, pos = _quoted(text, pos, values, environ)
        else:
            end = _LINE_END.search(text, pos)
            stop = end.start() if end else size
            value, pos = _unquoted(text[pos:stop], values, environ), stop
        values[key.group(1).rstrip(_SPACE)] = value


def read_dotenv(path: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The file's keys ({} when it is missing, unreadable or not a regular file: a FIFO `.env` must not hang the
    run); DotenvError when godotenv would fail. Read through fsutil's one bounded reader."""
    from earthly_doctor.errors import DoctorError
    from earthly_doctor.fsutil import read_regular

    try:
        data = read_regular(path, limit=MAX_BYTES, follow=True)
    except (OSError, DoctorError):  # DoctorError: fsutil.UnsafePath
        return {}
    return parse_dotenv((data or b"").decode("utf-8", errors="replace"), environ)
