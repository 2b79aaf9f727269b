"""The secret-scanner rule set taken as data: gitleaks' default config (gitleaks.toml beside this file; its source,
commit and MIT licence are in its header and gitleaks.LICENSE), read into Python regexes.

gitleaks writes Go RE2 patterns; the few RE2-only spellings are translated (a flag group in mid-pattern, `\\z`,
POSIX classes). A translated `(?i)` applies to the whole pattern, which can only redact more, never less.
Per rule we keep what makes gitleaks precise enough for build logs: `keywords` (a cheap prefilter), `entropy`
(Shannon bits per character of the secret), `secretGroup`, and the allowlists' `regexes` and `stopwords`
(path-based allowlists and path-only rules do not apply to a log and are skipped).
"""

from __future__ import annotations

import math
import re
import threading
import tomllib
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

_NEVER = re.compile(r"(?!)")
_POSIX = {"alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "digit": "0-9", "lower": "a-z", "upper": "A-Z", "space": r"\s",
          "xdigit": "0-9a-fA-F", "word": r"\w", "punct": r"!-/:-@\[-`{-~"}


@dataclass
class Allow:
    target: str  # "secret" | "match" | "line": what the regexes are tried on
    patterns: tuple[str, ...]  # compiled on first use, like the rules'
    stopwords: tuple[str, ...]
    _regexes: tuple[re.Pattern[str], ...] | None = None

    @property
    def regexes(self) -> tuple[re.Pattern[str], ...]:
        if self._regexes is None:
            self._regexes = tuple(_compile(p) for p in self.patterns)
        return self._regexes

    def allows(self, secret: str, match: str, line: str) -> bool:
        subject = {"match": match, "line": line}.get(self.target, secret)
        if any(r.search(subject) for r in self.regexes):
            return True
        lowered = secret.lower()
        return any(word in lowered for word in self.stopwords)


@dataclass
class Rule:
    id: str
    pattern: str  # RE2, as gitleaks wrote it; compiled on first use (most rules' keywords never occur in a log)
    keywords: tuple[str, ...]
    entropy: float
    group: int  # 0: the first group that matched, else the whole match
    allows: tuple[Allow, ...]
    _regex: re.Pattern[str] | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            try:
                self._regex = _compile(self.pattern)
            except re.error:  # a pattern Python cannot read (check_all lists them; a test keeps the list empty)
                self._regex = _NEVER
        return self._regex

    def secret_span(self, m: re.Match[str]) -> tuple[int, int] | None:
        """Where the secret is in the match, or None when gitleaks would not report it."""
        if self.group:
            span = m.span(self.group) if m.group(self.group) else None
        else:
            span = next((m.span(i) for i in range(1, (m.re.groups or 0) + 1) if m.group(i)), m.span())
        if span is None:
            return None
        secret = m.string[span[0] : span[1]]
        if self.entropy and shannon(secret) < self.entropy:
            return None
        if any(a.allows(secret, m.group(0), m.string) for a in self.allows):
            return None
        return span


def shannon(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def translate(pattern: str) -> tuple[str, int]:
    """An RE2 pattern as a Python one, with the flags it needs."""
    flags = 0
    if pattern.startswith("(?i)"):
        pattern, flags = pattern[4:], re.IGNORECASE
    if "(?i)" in pattern:  # Python allows global flags only at the start: widen to the whole pattern
        pattern, flags = pattern.replace("(?i)", ""), re.IGNORECASE
    pattern = pattern.replace(r"\z", r"\Z")
    pattern = re.sub(r"\[:(\w+):\]", lambda m: _POSIX.get(m.group(1), m.group(0)), pattern)
    return pattern, flags


def _compile(pattern: str) -> re.Pattern[str]:
    text, flags = translate(pattern)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "possible nested set": RE2 spells `[[` literally
        return re.compile(text, flags)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    skipped: tuple[str, ...]  # rule ids that could not be used here, with the reason
    keyword_gate: re.Pattern[str]  # any keyword of any rule: a line without one skips every keyword rule
    source: str

    @cached_property
    def unkeyed(self) -> tuple[Rule, ...]:
        """The rules without keywords, in order: all a line runs that the keyword gate turns away."""
        return tuple(rule for rule in self.rules if not rule.keywords)


_LOADING = threading.Lock()


def preload() -> None:
    """Read the rule set on a background thread (about 0.1 s of TOML) while a command does its real work, so the
    report it renders at the end does not wait for it."""
    threading.Thread(target=gitleaks_rules, name="secret-rules", daemon=True).start()


def gitleaks_rules() -> RuleSet:
    with _LOADING:  # one reader: a preload and a renderer may ask at the same time
        return _load()


@lru_cache(maxsize=1)
def _load() -> RuleSet:
    raw = resources.files(__name__).joinpath("gitleaks.toml").read_text(encoding="utf-8")
    source = raw.splitlines()[0].removeprefix("# Source: ")
    data = tomllib.loads(raw)
    rules: list[Rule] = []
    skipped: list[str] = []
    for entry in data.get("rules", []):
        rid = str(entry.get("id"))
        if "regex" not in entry:
            skipped.append(f"{rid}: matches file paths only")
            continue
        allows = tuple(_allow(a) for a in entry.get("allowlists", []) if not a.get("paths"))
        rules.append(Rule(rid, str(entry["regex"]), tuple(k.lower() for k in entry.get("keywords", [])),
                          float(entry.get("entropy", 0.0)), int(entry.get("secretGroup", 0)), allows))
    words = sorted({k for r in rules for k in r.keywords}, key=len, reverse=True)
    gate = re.compile("|".join(re.escape(w) for w in words)) if words else re.compile(r"(?!)")
    return RuleSet(tuple(rules), tuple(skipped), gate, source)


def _allow(entry: dict[str, object]) -> Allow:
    regexes = entry.get("regexes")
    stopwords = entry.get("stopwords")
    return Allow(str(entry.get("regexTarget", "secret")),
                 tuple(str(r) for r in regexes) if isinstance(regexes, list) else (),
                 tuple(str(w).lower() for w in stopwords) if isinstance(stopwords, list) else ())


def check_all(rules: RuleSet) -> list[str]:
    """Every rule's pattern compiled now (they are compiled lazily in use): one line per pattern that fails."""
    problems = []
    for rule in rules.rules:
        try:
            _ = _compile(rule.pattern), [a.regexes for a in rule.allows]
        except re.error as exc:
            problems.append(f"{rule.id}: {exc}")
    return problems
