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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from earthly_doctor.secret_rules import gitleaks_rules

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
# Each rule is (kind, pattern, group holding the secret); a callable kind decides from the match. Rules see one line
# at a time (private key blocks, which span lines, are the KeyBlocks filter's); gitleaks' rules run after these.
_NAME = r"(?<![A-Za-z0-9_])(?P<name>(?i:(?:[A-Za-z0-9]+[_.-])*" + _SECRET_WORDS + r")|[a-z0-9]+(?:Token|Secret|Password|Key|Auth))"
_VALUE = r"""(?P<s>"[^"\r\n]*"|'[^'\r\n]*'|[^\s"']+)"""
_RULES: list[tuple[str | Callable[[re.Match[str]], str], re.Pattern[str], str]] = [
    ("authorization-header", re.compile(
        r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:(?:basic|bearer|token|digest|negotiate)\s+)?(?P<s>[^\s\"',]+(?:[^\r\n\"']*)?)"), "s"),
    # The password may hold `/` (`https://u:ab/cd@host`): only whitespace, `@` and quotes end it.
    ("url-credentials", re.compile(
        r"\b[a-zA-Z][a-zA-Z0-9+.-]{0,20}://[^\s/:@\"'<>]{1,256}:(?P<s>[^\s@\"'<>]{1,512})@(?=[\w\[])"), "s"),
    ("jenkins-api-token", re.compile(r"(?<![0-9A-Za-z])(?P<s>11[0-9a-f]{32})(?![0-9A-Za-z])"), "s"),
    ("github-token", re.compile(r"(?<![0-9A-Za-z_])(?P<s>(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}))"), "s"),
    ("gitlab-token", re.compile(
        r"(?<![\w-])(?P<s>gl(?:pat|dt|rt|ptt|cbt|ft|imt|oas|soat|ffct|agent)-[\w-]{20,255})"), "s"),
    ("slack-token", re.compile(r"(?<![\w-])(?P<s>xox[abeoprs]-(?:[0-9]{1,20}-)*[A-Za-z0-9-]{8,255})"), "s"),
    ("slack-webhook", re.compile(
        r"(?i)hooks\.slack\.com/(?P<s>(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{16,255})"), "s"),
    ("jwt", re.compile(r"(?<![\w-])(?P<s>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"), "s"),
    ("aws-access-key-id", re.compile(r"(?<![0-9A-Z])(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})(?![0-9A-Z])"), "s"),
    # curl -u user:password (quoted or not); `docker run -u 1000:1000` is a uid, not a secret.
    ("curl-credentials", re.compile(
        r"\bcurl\b[^\n]{0,500}?\s(?:-u|--user)(?:=|\s+)(?P<q>[\"'])?[^\s:\"']{1,256}:"
        r"(?P<s>(?(q)[^\"'\r\n]+|[^\s\"']+))"), "s"),
    ("docker-login-password", re.compile(
        r"\bdocker\b[^\n]{0,300}?\blogin\b[^\n]{0,300}?\s(?:-p|--password)(?:=|\s+)" + _VALUE), "s"),
    # NAME = "quoted value" / NAME: 'quoted' / "name": "json value"
    (lambda m: _kind_for_name(m.group("name")), re.compile(
        _NAME + r"[\"']?[ \t]*(?:=|:|\s=\s)[ \t]*(?P<q>[\"'])(?P<s>[^\"'\r\n]+)(?P=q)"), "s"),
    # NAME=value / NAME: value / --name=value (unquoted, up to whitespace or a delimiter)
    (lambda m: _kind_for_name(m.group("name")), re.compile(
        _NAME + r"[ \t]*(?:=|:)[ \t]*(?P<s>[^\s\"',;)}\]]+)"), "s"),
    # --password VALUE (a space instead of `=`) on any command line; `--password-stdin` is not followed by one.
    ("command-line-secret", re.compile(
        r"(?<![\w-])--(?:password|passwd|pass|token|api-key|apikey|secret|client-secret|access-token|auth-token)"
        r"[ \t]+" + _VALUE), "s"),
]
# A PEM, OpenSSH or PGP private key's BEGIN or END line (gitleaks' private-key rule, as two markers).
KEY_MARKER = re.compile(rb"-{4,5} ?(?P<kind>BEGIN|END) (?:[A-Z0-9_-]{1,24} ){0,6}PRIVATE KEY(?: BLOCK)? ?-{4,5}",
                        re.IGNORECASE)
KEY_MARKER_MAX = 200  # bytes: no marker is longer (a streaming reader keeps this much overlap between chunks)
_KEY_PLACEHOLDER = PLACEHOLDER.format(kind="private-key").encode()


class KeyBlocks:
    """Which bytes of a whole input lie inside a private key block, from its BEGIN to its END, line after line.

    The state lives across lines, so a body line is redacted whether or not the BEGIN is in what is shown, and
    everything after a BEGIN stays redacted until an END (to the end of the input when none comes).
    """

    def __init__(self) -> None:
        self.inside = False
        self.blocks = 0  # blocks opened so far; the current one's id while inside
        self.recorded = 0  # the last block id a caller listed (blocks are numbered in order)

    def line(self, shown: bytes, markers: Iterable[tuple[bool, int, int]] | None = None) -> tuple[bytes, list[int]]:
        """`shown` (a line, or the first part of a long one) with key material replaced, and the ids of the blocks
        it touched. `markers` are (is_begin, start, end) for the whole line in order; None: found in `shown`."""
        if markers is None:
            markers = [(m.group("kind").upper() == b"BEGIN", m.start(), m.end()) for m in KEY_MARKER.finditer(shown)]
        n = len(shown)
        spans: list[list[int]] = []
        touched: list[int] = []
        if self.inside:
            spans.append([0, n])
            touched.append(self.blocks)
        for is_begin, start, end in markers:
            if is_begin and not self.inside:
                self.inside = True
                self.blocks += 1
                if start < n:
                    spans.append([start, n])
                    touched.append(self.blocks)
            elif not is_begin and self.inside:
                self.inside = False
                if spans and spans[-1][1] == n:
                    spans[-1][1] = min(end, n)
        if not spans:
            return shown, touched
        out = bytearray()
        pos = 0
        for start, end in spans:
            out += shown[pos:start] + _KEY_PLACEHOLDER
            pos = end
        out += shown[pos:]
        return bytes(out), touched


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
        """Every secret in free text (logs, Jenkinsfiles, YAML, .env, ini) replaced; line numbers are recorded.
        Private key blocks are followed across lines from their BEGIN to their END."""
        keys = KeyBlocks()
        out: list[str] = []
        for offset, line in enumerate(text.splitlines(keepends=True) or [text]):
            number = first_line + offset
            body = line.rstrip("\r\n")
            raw, touched = keys.line(body.encode("utf-8", "surrogateescape"))
            for block in touched:
                if block > keys.recorded:  # one manifest entry per key block, at its first line
                    keys.recorded = block
                    self._record(file, "private-key", number)
            if touched:
                body = raw.decode("utf-8", "surrogateescape")
            out.append(self.line(body, file, number) + line[len(line.rstrip("\r\n")):])
        return "".join(out)

    def line(self, line: str, file: str, number: int | None) -> str:
        """One line through the learned values, the named rules and gitleaks' rules (keys are KeyBlocks' job)."""
        for value in sorted(self.known, key=len, reverse=True):
            if value in line:
                known_kind, name = self.known[value]
                line = self._apply(line, file, known_kind, re.compile(f"(?P<s>{re.escape(value)})"), "s", number,
                                   name)
        for rule_kind, pattern, group in _RULES:
            line = self._apply(line, file, rule_kind, pattern, group, number)
        return self._gitleaks(line, file, number)

    def _gitleaks(self, line: str, file: str, number: int | None) -> str:
        rules = gitleaks_rules()
        lowered = line.lower()
        gated = rules.keyword_gate.search(lowered) is not None
        for rule in rules.rules if gated else rules.unkeyed:  # a line without any keyword skips every keyword rule
            if rule.keywords and not any(k in lowered for k in rule.keywords):
                continue
            spans = []
            for m in rule.regex.finditer(line):
                span = rule.secret_span(m)
                if span is not None and span[1] > span[0] and not _in_placeholder(line, *span):
                    spans.append(span)
            if spans:
                parts, last = [], 0
                for start, end in spans:
                    if start < last:
                        continue
                    parts += [line[last:start], self._record(file, rule.id, number)]
                    last = end
                line = "".join(parts) + line[last:]
                lowered = line.lower()
        return line

    def _apply(self, text: str, file: str, kind: Any, pattern: re.Pattern[str], group: str, line: int | None,
               known_name: str | None = None) -> str:
        out: list[str] = []
        last = 0
        for m in pattern.finditer(text):
            secret = m.group(group)
            name = None if known_name else m.groupdict().get("name")
            if not secret or _REFERENCE.match(secret.strip("\"'")) or (name and not is_secret_name(name)):
                continue
            this_kind = kind(m) if callable(kind) else kind
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


def _in_placeholder(line: str, start: int, end: int) -> bool:
    """A span inside an earlier rule's `<redacted:KIND>` (gitleaks' generic rules would see its kind as a value)."""
    opening = line.rfind("<redacted:", 0, end)
    return opening >= 0 and line.find(">", opening) >= start


def redact_text(text: str, file: str = "<text>") -> tuple[str, list[Redaction]]:
    """Convenience for one-off use (reports, messages)."""
    r = Redactor()
    return r.text(text, file), r.redactions
