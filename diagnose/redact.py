"""Secret redaction for everything earthly-doctor writes out (support bundles, reports): one module, one set of rules.

A `Redactor` rewrites text, environment mappings and parsed JSON, replacing each secret with `<redacted:KIND>`,
and records *where* it redacted (file, kind, line, variable name) but never the value. Kinds:

    private-key            PEM private key blocks (also GCP service-account JSON `private_key`)
    authorization-header   `Authorization:` / `Proxy-Authorization:` header values
    url-credentials        the password in `scheme://user:password@host`
    jenkins-api-token      Jenkins API tokens (`11` + 32 hex digits)
    github-token           ghp_/gho_/ghu_/ghs_/ghr_ tokens and github_pat_ fine-grained tokens
    aws-access-key-id      AKIA…/ASIA… access key ids
    aws-secret-access-key  the value of aws_secret_access_key (any case, env, ini or JSON)
    docker-auth            Docker config `auths.*.auth`, `identitytoken`, `registrytoken`, `password`
    secret-variable        the value of a variable or key named like a secret (*_TOKEN, *_SECRET, *_PASSWORD, *_KEY…)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

PLACEHOLDER = "<redacted:{kind}>"
MIN_KNOWN = 6  # a learned value shorter than this would redact ordinary words

# A name is "like a secret" when its last word is one of these (FOO_TOKEN, db.password, apiKey, SECRET).
_SECRET_WORDS = r"(?:TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|PASS|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|KEY|CREDENTIALS?|AUTH|IDENTITYTOKEN|REGISTRYTOKEN)"  # noqa: S105 -- names of secret variables, not a secret
SECRET_NAME = re.compile(rf"^(?i:(?:[A-Za-z0-9]+[_.-])*{_SECRET_WORDS})$|^[a-z0-9]+(?:Token|Secret|Password|Key|Auth)$")
# Names that end like a secret but hold none (a path, a flag, a public part).
_NOT_SECRET = re.compile(r"(?i)(?:_FILE|_PATH|_DIR|_ID|_NAME|_URL_?|_HOST|_HEADER)$|^(?:PWD|OLDPWD|SSH_AUTH_SOCK|XAUTHORITY|KEY)$")
# Docker config keys that carry registry credentials.
DOCKER_AUTH_KEYS = {"auth", "identitytoken", "registrytoken", "password"}
AWS_SECRET_NAMES = re.compile(r"(?i)^(?:AWS_)?SECRET_ACCESS_KEY$|^AWS_SECRET_KEY$")

# A value that is only a reference to a secret stored elsewhere, not the secret: left readable for support.
_REFERENCE = re.compile(r"^(?:\$\{?[A-Za-z_][A-Za-z0-9_.]*\}?|credentials\(|env\.|<redacted:)")


@dataclass(frozen=True)
class Redaction:
    """One redacted secret: where and what kind, never the value."""

    file: str
    kind: str
    line: int | None = None
    name: str | None = None  # the variable or key that held it, when there was one

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "kind": self.kind}
        if self.line is not None:
            data["line"] = self.line
        if self.name:
            data["name"] = self.name
        return data


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)


def _kind_for_name(name: str, value: str = "") -> str:
    """The kind of a secret-named variable's value: what the value itself is when a rule knows it exactly."""
    for kind, pattern, group in _RULES:
        if isinstance(kind, str) and value and (m := pattern.fullmatch(value)) and m.group(group) == value:
            return kind
    return "aws-secret-access-key" if AWS_SECRET_NAMES.search(name) else "secret-variable"


# Text rules, in order: the specific kinds first, so a token in `FOO_TOKEN=ghp_…` is recorded as a GitHub token.
# Each rule is (kind, pattern, group holding the secret); a callable kind decides from the match.
_NAME = r"(?<![A-Za-z0-9_])(?P<name>(?i:(?:[A-Za-z0-9]+[_.-])*" + _SECRET_WORDS + r")|[a-z0-9]+(?:Token|Secret|Password|Key|Auth))"
_RULES: list[tuple[str | Callable[[re.Match[str]], str], re.Pattern[str], str]] = [
    ("private-key", re.compile(
        r"(?P<s>-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----(?:.*?-----END [A-Z ]{0,40}PRIVATE KEY-----|[^\n]*))", re.S), "s"),
    ("authorization-header", re.compile(
        r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:(?:basic|bearer|token|digest|negotiate)\s+)?(?P<s>[^\s\"',]+(?:[^\r\n\"']*)?)"), "s"),
    ("url-credentials", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{0,20}://[^\s/:@\"'<>]{1,256}:(?P<s>[^\s/@\"'<>]{1,512})@"), "s"),
    ("jenkins-api-token", re.compile(r"(?<![0-9A-Za-z])(?P<s>11[0-9a-f]{32})(?![0-9A-Za-z])"), "s"),
    ("github-token", re.compile(r"(?<![0-9A-Za-z_])(?P<s>(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}))"), "s"),
    ("aws-access-key-id", re.compile(r"(?<![0-9A-Z])(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})(?![0-9A-Z])"), "s"),
    # NAME = "quoted value" / NAME: 'quoted' / "name": "json value"
    (lambda m: _kind_for_name(m.group("name")), re.compile(
        _NAME + r"[\"']?[ \t]*(?:=|:|\s=\s)[ \t]*(?P<q>[\"'])(?P<s>[^\"'\r\n]+)(?P=q)"), "s"),
    # NAME=value / NAME: value / --name=value (unquoted, up to whitespace or a delimiter)
    (lambda m: _kind_for_name(m.group("name")), re.compile(
        _NAME + r"[ \t]*(?:=|:)[ \t]*(?P<s>[^\s\"',;)}\]]+)"), "s"),
]


@dataclass
class Redactor:
    redactions: list[Redaction] = field(default_factory=list)
    # Values of secret-named variables, learned up front: caught verbatim wherever else they turn up.
    known: dict[str, tuple[str, str]] = field(default_factory=dict)

    def learn(self, env: Mapping[str, str]) -> None:
        for name, value in env.items():
            if value and len(value) >= MIN_KNOWN and is_secret_name(name) and not _REFERENCE.match(value):
                self.known[value] = (_kind_for_name(name, value), name)

    def _record(self, file: str, kind: str, line: int | None, name: str | None = None) -> str:
        self.redactions.append(Redaction(file, kind, line, name))
        return PLACEHOLDER.format(kind=kind)

    # ---- text -------------------------------------------------------------------------------------------------

    def text(self, text: str, file: str, *, first_line: int = 1) -> str:
        """Every secret in free text (logs, Jenkinsfiles, YAML, .env, ini) replaced; line numbers are recorded."""
        for value in sorted(self.known, key=len, reverse=True):
            if value in text:
                kind, name = self.known[value]
                text = self._apply(text, file, kind, re.compile(f"(?P<s>{re.escape(value)})"), "s", first_line, name)
        for rule_kind, pattern, group in _RULES:
            text = self._apply(text, file, rule_kind, pattern, group, first_line)
        return text

    def _apply(self, text: str, file: str, kind: Any, pattern: re.Pattern[str], group: str, first_line: int,
               known_name: str | None = None) -> str:
        out: list[str] = []
        last = 0
        for m in pattern.finditer(text):
            secret = m.group(group)
            name = None if known_name else m.groupdict().get("name")
            if not secret or _REFERENCE.match(secret) or (name and not is_secret_name(name)):
                continue
            this_kind = kind(m) if callable(kind) else kind
            line = first_line + text.count("\n", 0, m.start(group))
            out.append(text[last : m.start(group)])
            out.append(self._record(file, this_kind, line, name or known_name))
            last = m.end(group)
        if not out:
            return text
        out.append(text[last:])
        return "".join(out)

    # ---- structured -------------------------------------------------------------------------------------------

    def environment(self, env: Mapping[str, str], file: str) -> dict[str, str]:
        """Variables named like secrets lose their value; every other value still goes through the text rules."""
        result: dict[str, str] = {}
        for name in sorted(env):
            value = env[name]
            if value and is_secret_name(name) and not _REFERENCE.match(value):
                result[name] = self._record(file, _kind_for_name(name, value), None, name)
            else:
                result[name] = self._text_value(value, file, name)
        return result

    def json(self, data: Any, file: str, *, docker_config: bool = False) -> Any:
        """A parsed JSON/YAML document with secret-named keys and secrets inside strings redacted (a copy)."""
        return self._walk(data, file, docker_config, None)

    def _walk(self, data: Any, file: str, docker_config: bool, key: str | None) -> Any:
        if isinstance(data, dict):
            return {k: self._walk_item(str(k), v, file, docker_config) for k, v in data.items()}
        if isinstance(data, list):
            return [self._walk(v, file, docker_config, key) for v in data]
        if isinstance(data, str):
            return self._text_value(data, file, key)
        return data

    def _walk_item(self, key: str, value: Any, file: str, docker_config: bool) -> Any:
        if isinstance(value, str) and value and not _REFERENCE.match(value):
            lowered = key.lower()
            if docker_config and lowered in DOCKER_AUTH_KEYS:
                return self._record(file, "docker-auth", None, key)
            if lowered == "private_key":
                return self._record(file, "private-key", None, key)
            if is_secret_name(key):
                return self._record(file, _kind_for_name(key, value), None, key)
        return self._walk(value, file, docker_config, key)

    def _text_value(self, value: str, file: str, name: str | None) -> str:
        before = len(self.redactions)
        redacted = self.text(value, file)
        if name:
            # A value has no lines of its own; the variable or key it belongs to says where it was.
            self.redactions[before:] = [Redaction(r.file, r.kind, None, r.name or name) for r in self.redactions[before:]]
        return redacted

    # ---- summary ----------------------------------------------------------------------------------------------

    def summary(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.redactions]


def redact_text(text: str, file: str = "<text>") -> tuple[str, list[Redaction]]:
    """Convenience for one-off use (reports, messages)."""
    r = Redactor()
    return r.text(text, file), r.redactions
