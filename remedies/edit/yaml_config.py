"""`~/.earthly/config.yml`: set `global.local_registry_host` (or another global key) with a round-trip YAML edit
(comments and order kept).

ruamel.yaml re-emits the whole document, so after the edit we diff old and new lines and refuse when anything
other than the key itself would change: the user's formatting is never silently rewritten.
"""

from __future__ import annotations

import difflib
import io
from typing import Any

from earthly_doctor.vocabulary import PINNED_REGISTRY
from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, newline_of

KEY = "local_registry_host"


def edit_local_registry_host(text: str, value: str = PINNED_REGISTRY) -> EditOutcome:
    return edit_global_key(text, KEY, value)


def edit_global_key(text: str, key: str, value: str) -> EditOutcome:
    """Set `global.<key>` to a string value; everything else in the file stays byte for byte."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.scalarstring import SingleQuotedScalarString
    from ruamel.yaml.util import load_yaml_guess_indent

    nl = newline_of(text) if text else "\n"
    lf_text = text.replace("\r\n", "\n")
    try:
        yaml = YAML()
        yaml.preserve_quotes = True  # must be set before loading, or quoted scalars come back bare
        if lf_text.strip():
            _, indent, block_seq_indent = load_yaml_guess_indent(lf_text)
            data = yaml.load(lf_text)
        else:
            data, indent, block_seq_indent = None, 2, 0
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise EditRefused(mark.line + 1 if mark else 0, f"not valid YAML: {exc.problem or exc}") from None
    except YAMLError as exc:
        raise EditRefused(0, f"not valid YAML: {exc}") from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise EditRefused(1, "the config file is not a YAML mapping")
    section = data.get("global")
    if section is not None and not isinstance(section, CommentedMap):
        raise EditRefused(_line_of(data, "global"), "`global:` is not a mapping")
    current = section.get(key) if section is not None else None
    if current == value:
        return EditOutcome(text, already=[f"line {_line_of(section, key)}: global.{key} is already {value}"])
    if section is None:
        section = CommentedMap()
        data["global"] = section
    section[key] = SingleQuotedScalarString(value)
    yaml.width = 4096
    yaml.indent(mapping=indent or 2, sequence=(indent or 2) + (block_seq_indent or 0), offset=block_seq_indent or 0)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    new = buffer.getvalue()
    _only_the_key_changed(lf_text, new, key)
    verb = "changed" if current is not None else "set"
    if nl == "\r\n":
        new = new.replace("\n", "\r\n")
    line = next((i for i, raw in enumerate(new.splitlines(), 1) if raw.strip().startswith(f"{key}:")), 0)
    was = f" (was {current!r})" if current is not None else ""
    return EditOutcome(new, [f"line {line}: {verb} global.{key}: '{value}'{was}"])


def _line_of(mapping: Any, key: str) -> int:
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except Exception:  # noqa: BLE001 -- ruamel keeps no position for keys it created itself
        return 0


def _only_the_key_changed(old: str, new: str, key: str = KEY) -> None:
    old_lines = old.splitlines()
    new_lines = new.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        touched = list(new_lines[j1:j2])
        removed = old_lines[i1:i2]
        allowed = all(line.strip().startswith((f"{key}:", "global:")) for line in touched)
        allowed = allowed and all(line.strip().startswith((f"{key}:", "global:")) for line in removed)
        if not allowed:
            raise EditRefused(i1 + 1, f"a YAML round trip would reformat this file; set global.{key} yourself")
