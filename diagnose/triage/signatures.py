"""The signature knowledge base: one TOML file per known log signature, loaded and validated at start-up.

A signature file holds (see `signatures/proxy-unreachable.toml` for a full example):

    id, title, meaning            what it is and what it means, in words
    kind                          failure | warning | info | look-alike
    status, severity              of the ED160 finding it produces
    cause                         the verdict cause it points at (DESIGN §6a), optional
    remedies                      remedy ids, best first; `advice` is free text for what no remedy id covers
    anchors                       literal strings, one of which every matching line contains (the prefilter)
    pattern                       a regex (named groups) searched in one cleaned line
    [context]                     optional: pattern / within / required, a line up to `within` lines before
    [fields]                      field name -> group name, or a list of group names (the first that took part)
    [variants]                    field name -> {group: value}: the value of the first group that took part
    supersedes                    ids of signatures this one hides when both match the same line
    [unless]                      optional: pattern / within / groups: a line up to `within` lines before that
                                  vetoes the match (a message Earthly quotes inside a block it says it will "try
                                  anyway" past); with `groups`, only when one of those groups took part
    [continuation]                optional: pattern / within / field / start: the wrapped command's output goes on
                                  over the next lines; `field` is the `field` group of the first of them (starting
                                  with the `start` group's text on the matched line) that `pattern` matches
    fallback                      true: reported only when no other signature with status `fail` matched the log
    summary                       a str.format template over the fields; `[[ … ]]` parts are left out when a
                                  field inside them has no value
    [[fixtures.match]]            text (one or more log lines) that must match, with `expect` = {field: value}
    [[fixtures.no_match]]         look-alike text that must not match

Users add their own files with `--signatures DIR`; a user file with the id of a built-in replaces it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from earthly_doctor.errors import UsageError
from earthly_doctor.model import CAUSES, REMEDY_IDS, Severity, Status

BUILTIN_DIR = Path(__file__).with_name("signatures")
KINDS = ("failure", "warning", "info", "look-alike")
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_OPTIONAL = re.compile(r"\[\[(.*?)\]\]")
_KNOWN_KEYS = {
    "id", "title", "meaning", "kind", "status", "severity", "cause", "remedies", "advice", "anchors", "pattern",
    "context", "fields", "variants", "supersedes", "summary", "fixtures", "unless", "continuation", "fallback",
}


# Names a finding already has (DESIGN §6a and the ED160 extras): a field may not shadow them.
RESERVED_FIELDS = frozenset({
    "code", "title", "status", "severity", "summary", "evidence", "remedies", "duration_ms", "category", "signature",
    "line", "timestamp", "stage", "node", "text", "context", "log", "kind", "cause", "occurrences", "lines",
})


class SignatureError(UsageError):
    """A signature file that cannot be used: bad TOML, a missing key, a regex that does not compile or could
    backtrack without bound."""


@dataclass(frozen=True)
class Fixture:
    text: str
    expect: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Continuation:
    """Where a wrapped command's output ends: `pattern` over the lines from the matched one on (at most `within`),
    its `field` group becomes the field of the same name; `start` names the matched line's group to test first."""

    pattern: re.Pattern[str]
    within: int
    field: str
    start: str | None

    def find(self, text: str) -> str | None:
        m = self.pattern.search(text)
        return m.group(self.field) if m is not None else None


@dataclass(frozen=True)
class Signature:
    id: str
    title: str
    meaning: str
    kind: str
    status: Status
    severity: Severity
    cause: str | None
    remedies: tuple[str, ...]
    advice: str
    anchors: tuple[str, ...]
    regex: re.Pattern[str]
    context: re.Pattern[str] | None
    context_within: int
    context_required: bool
    fields: dict[str, tuple[str, ...]]
    variants: dict[str, dict[str, str]]
    supersedes: tuple[str, ...]
    summary: str
    matches: tuple[Fixture, ...]
    no_matches: tuple[Fixture, ...]
    source: str
    unless: re.Pattern[str] | None = None
    unless_within: int = 0
    unless_groups: tuple[str, ...] = ()
    continuation: Continuation | None = None
    fallback: bool = False

    def extract(self, m: re.Match[str], ctx: re.Match[str] | None) -> dict[str, str]:
        """Field values from the line's match (and the context line's, for groups only it has)."""
        values: dict[str, str] = {}
        for name, groups in self.fields.items():
            for match in (m, ctx):
                hit = next((match.group(g) for g in groups if match is not None and g in match.re.groupindex
                            and match.group(g) is not None), None)
                if hit is not None:
                    values[name] = hit
                    break
        for name, options in self.variants.items():
            for group, value in options.items():
                if any(x is not None and group in x.re.groupindex and x.group(group) is not None for x in (m, ctx)):
                    values[name] = value
                    break
        return values

    def vetoable(self, m: re.Match[str]) -> bool:
        """Whether an `[unless]` line before may veto this match (only the listed groups' branches, if any)."""
        if self.unless is None:
            return False
        return not self.unless_groups or any(m.group(g) is not None for g in self.unless_groups)

    def render_summary(self, values: dict[str, Any]) -> str:
        class _Missing(dict[str, Any]):
            def __missing__(self, key: str) -> str:
                return "?"

        def optional(m: re.Match[str]) -> str:
            # `[[ at {address}]]` is left out when a field inside it has no value.
            try:
                return m.group(1).format_map(values)
            except (KeyError, ValueError, IndexError, AttributeError):
                return ""

        try:
            text = _OPTIONAL.sub(optional, self.summary) if "[[" in self.summary else self.summary
            return text.format_map(_Missing(values)) if self.summary else self.title
        except (ValueError, IndexError, AttributeError):
            return self.title


def _fail(source: str, message: str) -> SignatureError:
    return SignatureError(f"signature {source}: {message}")


def _nested_unbounded(pattern: str) -> bool:  # noqa: C901 -- grandfathered; split when next changed
    """True when an unbounded repeat sits inside another unbounded repeat: `(a+)+`, `(.*)*` — the exponential
    shapes. Lines are capped, so the remaining polynomial cases stay bounded."""
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - future Pythons; the length cap still bounds the work
        return False
    repeats = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)}
    repeats.discard(None)
    unbounded = sre_parse.MAXREPEAT

    def walk(items: Any, inside: bool) -> bool:
        for op, av in items:
            if op in repeats:
                _lo, hi, body = av
                is_unbounded = hi == unbounded or hi > 1000
                # Possessive repeats never give characters back, so they cannot backtrack into each other.
                if op == getattr(sre_parse, "POSSESSIVE_REPEAT", object()):
                    is_unbounded = False
                if inside and is_unbounded:
                    return True
                if walk(body, inside or is_unbounded):
                    return True
            elif op == sre_parse.SUBPATTERN:
                if walk(av[-1], inside):
                    return True
            elif op == sre_parse.BRANCH:
                if any(walk(branch, inside) for branch in av[1]):
                    return True
            elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
                if walk(av[1], inside):
                    return True
            elif op == getattr(sre_parse, "ATOMIC_GROUP", None):
                if walk(av, inside):
                    return True
        return False

    return walk(sre_parse.parse(pattern), False)


def _compile(source: str, key: str, pattern: Any, *, vetted: bool = False) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise _fail(source, f"{key} must be a non-empty string")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise _fail(source, f"{key} does not compile: {exc}") from None
    if not vetted and _nested_unbounded(pattern):
        raise _fail(source, f"{key} nests an unbounded repeat inside another (catastrophic backtracking); "
                    "bound the inner one ({0,200}) or make it possessive (*+)")
    return compiled


def _strings(source: str, data: dict[str, Any], key: str, *, required: bool = False) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise _fail(source, f"{key} must be a list of strings")
    if required and not value:
        raise _fail(source, f"{key} must not be empty")
    return tuple(value)


def parse_signature(data: dict[str, Any], source: str, *, vetted: bool = False) -> Signature:  # noqa: C901, PLR0912 -- grandfathered; split when next changed
    """Validate one signature table; every problem is one clear line naming the file and the key. `vetted`: the
    built-in files, whose patterns the tests check for catastrophic backtracking, skip that check at start-up."""
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise _fail(source, f"unknown key(s): {', '.join(sorted(unknown))}")
    for key in ("id", "title", "meaning", "kind", "status", "pattern"):
        if key not in data:
            raise _fail(source, f"missing key {key!r}")
    sid = data["id"]
    if not isinstance(sid, str) or not _ID.fullmatch(sid):
        raise _fail(source, f"id {sid!r} must be lowercase letters, digits and dashes")
    if data["kind"] not in KINDS:
        raise _fail(source, f"kind {data['kind']!r}: choose from {', '.join(KINDS)}")
    try:
        status = Status(data["status"])
        severity = Severity(data.get("severity", "info"))
    except ValueError as exc:
        raise _fail(source, str(exc)) from None
    cause = data.get("cause")
    if cause is not None and cause not in CAUSES:
        raise _fail(source, f"cause {cause!r} is not a verdict cause ({', '.join(CAUSES)})")
    remedies = _strings(source, data, "remedies")
    bad = [r for r in remedies if r not in REMEDY_IDS]
    if bad:
        raise _fail(source, f"unknown remedy id(s) {', '.join(bad)}; known: {', '.join(REMEDY_IDS)}")
    anchors = _strings(source, data, "anchors", required=True)
    for anchor in anchors:
        if len(anchor.encode()) < 4 or "\n" in anchor or "\r" in anchor:
            raise _fail(source, f"anchor {anchor!r} must be at least 4 bytes on one line")
    regex = _compile(source, "pattern", data["pattern"], vetted=vetted)
    context, within = _lookback(source, data, "context", vetted=vetted)
    required = bool(data["context"].get("required", False)) if context is not None else False
    groups = set(regex.groupindex) | set(context.groupindex if context else ())
    fields_raw = data.get("fields", {})
    if not isinstance(fields_raw, dict) or not all(
            isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(g, str) for g in v))
            for v in fields_raw.values()):
        raise _fail(source, "[fields] maps field names to a group name or a list of group names")
    fields = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in fields_raw.items()}
    missing = [g for gs in fields.values() for g in gs if g not in groups]
    if missing:
        raise _fail(source, f"[fields] name group(s) the patterns do not have: {', '.join(missing)}")
    variants_raw = data.get("variants", {})
    taken = sorted((set(fields) | set(variants_raw if isinstance(variants_raw, dict) else ())) & RESERVED_FIELDS)
    if taken:
        raise _fail(source, f"field name(s) {', '.join(taken)} are reserved for the finding itself")
    variants = data.get("variants", {})
    if not isinstance(variants, dict) or not all(isinstance(v, dict) for v in variants.values()):
        raise _fail(source, "[variants] maps field names to {group = value} tables")
    for options in variants.values():
        missing = [g for g in options if g not in groups]
        if missing:
            raise _fail(source, f"[variants] name group(s) the patterns do not have: {', '.join(missing)}")
    unless, unless_within = _lookback(source, data, "unless", vetted=vetted)
    unless_groups = tuple(data["unless"].get("groups", ())) if unless is not None else ()
    if any(not isinstance(g, str) or g not in regex.groupindex for g in unless_groups):
        raise _fail(source, "unless.groups must name groups of the pattern")
    continuation = _continuation(source, data, groups, vetted=vetted)
    fallback = data.get("fallback", False)
    if not isinstance(fallback, bool):
        raise _fail(source, "fallback must be true or false")
    fixtures = data.get("fixtures", {})
    matches = tuple(_fixtures(source, fixtures.get("match", []), expect=True))
    no_matches = tuple(_fixtures(source, fixtures.get("no_match", []), expect=False))
    if not matches:
        raise _fail(source, "needs at least one [[fixtures.match]]")
    return Signature(
        id=sid,
        title=str(data["title"]),
        meaning=str(data["meaning"]).strip(),
        kind=data["kind"],
        status=status,
        severity=severity,
        cause=cause,
        remedies=remedies,
        advice=str(data.get("advice", "")).strip(),
        anchors=anchors,
        regex=regex,
        context=context,
        context_within=within,
        context_required=required,
        fields=fields,
        variants={k: dict(v) for k, v in variants.items()},
        supersedes=_strings(source, data, "supersedes"),
        summary=str(data.get("summary", "")),
        matches=matches,
        no_matches=no_matches,
        source=source,
        unless=unless,
        unless_within=unless_within,
        unless_groups=unless_groups,
        continuation=continuation,
        fallback=fallback,
    )


def _lookback(source: str, data: dict[str, Any], key: str, *,
              vetted: bool = False) -> tuple[re.Pattern[str] | None, int]:
    """An optional table with a `pattern` and how many lines (`within`, 1-20) it looks back."""
    if key not in data:
        return None, 0
    table = data[key]
    if not isinstance(table, dict):
        raise _fail(source, f"[{key}] must be a table")
    within = table.get("within", 3)
    if not isinstance(within, int) or not 1 <= within <= 20:
        raise _fail(source, f"{key}.within must be an integer from 1 to 20")
    return _compile(source, f"{key}.pattern", table.get("pattern"), vetted=vetted), within


def _continuation(source: str, data: dict[str, Any], groups: set[str], *, vetted: bool = False) -> Continuation | None:
    if "continuation" not in data:
        return None
    table = data["continuation"]
    if not isinstance(table, dict):
        raise _fail(source, "[continuation] must be a table")
    pattern = _compile(source, "continuation.pattern", table.get("pattern"), vetted=vetted)
    within = table.get("within", 20)
    if not isinstance(within, int) or not 1 <= within <= 400:
        raise _fail(source, "continuation.within must be an integer from 1 to 400")
    name = table.get("field")
    if not isinstance(name, str) or name not in pattern.groupindex:
        raise _fail(source, "continuation.field must name a group of continuation.pattern")
    if name in RESERVED_FIELDS:
        raise _fail(source, f"field name {name} is reserved for the finding itself")
    start = table.get("start")
    if start is not None and (not isinstance(start, str) or start not in groups):
        raise _fail(source, "continuation.start must name a group of the pattern")
    return Continuation(pattern, within, name, start)


def _fixtures(source: str, items: Any, *, expect: bool) -> Iterable[Fixture]:
    if not isinstance(items, list):
        raise _fail(source, "fixtures must be arrays of tables ([[fixtures.match]])")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise _fail(source, "every fixture needs a `text` string")
        wanted = item.get("expect", {}) if expect else {}
        if not isinstance(wanted, dict):
            raise _fail(source, "fixture `expect` must be a table")
        yield Fixture(item["text"], {k: str(v) for k, v in wanted.items()})


def _load_dir(directory: Path, *, vetted: bool = False) -> list[Signature]:
    if not directory.is_dir():
        raise UsageError(f"--signatures {directory}: not a directory")
    found = []
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(str(path), f"cannot be read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise _fail(str(path), f"is not valid TOML: {exc}") from None
        found.append(parse_signature(data, str(path), vetted=vetted))
    return found


@lru_cache(maxsize=1)
def _builtin() -> tuple[Signature, ...]:
    return tuple(_load_dir(BUILTIN_DIR, vetted=True))


def builtin_signatures() -> tuple[Signature, ...]:
    """The signatures shipped in `signatures/*.toml` (read once)."""
    return _builtin()


def read_signatures(extra_dirs: Iterable[str | Path] = (), *, builtin: bool = True) -> tuple[tuple[Signature, ...], list[str]]:
    """The built-in signatures plus the users' (`--signatures DIR`) and the users' ids; their fixtures are not run
    here (`triage.library.load_signatures` runs them through the scanner, which imports this module)."""
    by_id: dict[str, Signature] = {s.id: s for s in _builtin()} if builtin else {}
    user: list[str] = []
    for directory in extra_dirs:
        for sig in _load_dir(Path(directory)):
            by_id[sig.id] = sig
            user.append(sig.id)
    sigs = tuple(by_id.values())
    ids = set(by_id)
    for sig in sigs:
        unknown = [s for s in sig.supersedes if s not in ids]
        if unknown:
            raise _fail(sig.source, f"supersedes unknown signature(s): {', '.join(unknown)}")
    return sigs, user
