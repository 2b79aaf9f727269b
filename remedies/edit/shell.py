"""Shell text: find `earthly` build commands and `docker run` commands, and edit them in place.

These functions work on any shell text: a whole script, or the body of a Jenkinsfile `sh '''…'''` step (the
Jenkinsfile editor passes string bodies and maps the offsets back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, Lines, NotApplicable, Splicer, newline_of
from earthly_doctor.vocabulary import GO_TRUE, NON_BUILD_SUBCOMMANDS, PROXY_FLAG, PROXY_VARIABLES

FLAG = PROXY_FLAG
ENV_KEYS = PROXY_VARIABLES

# A command position: start of a line (or of the text), or after a separator, then optional wrappers and
# VAR=value assignments.
_POSITION = r"(?:^|(?<=[;&|(`])|(?<=\$\()|(?<=\bthen\b)|(?<=\bdo\b)|(?<=\belse\b))[ \t]*"
_WRAPPERS = r"(?:(?:sudo|exec|time|command|nohup|env)(?:[ \t]+-\S+)*[ \t]+)*"
_ASSIGNS = r"(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^'\n]*'|\"[^\"\n]*\"|[^\s;&|]*)[ \t]+)*"
_EARTHLY = re.compile(
    _POSITION + _WRAPPERS + r"(?P<assigns>" + _ASSIGNS + r")"
    r"(?P<cmd>(?:(?:\.{1,2}|~|\$\{?\w+\}?)?/(?:[\w.+-]+/)*)?(?P<bin>earthly|earth)(?:\.exe)?)(?=[ \t]|$|[;&|)])",
    re.M,
)
_DOCKER_RUN = re.compile(
    _POSITION + _WRAPPERS + _ASSIGNS + r"(?P<cmd>(?:\S*/)?docker(?:[ \t]+container)?[ \t]+run)(?=[ \t]|$)",
    re.M,
)
_NETWORK = re.compile(r"(?<!\S)--net(?:work)?(?:=|[ \t]+)(?P<q>['\"]?)(?P<val>[^\s'\"]+)(?P=q)")
# Earthly subcommands that never export an image (and the flags that only print): the flag is noise there.
_NOT_BUILDS = NON_BUILD_SUBCOMMANDS | {"--version", "--help", "-h"}


@dataclass
class Command:
    start: int  # offset of the command word
    cmd_end: int  # offset just after the command word (where a flag goes)
    end: int  # end of the command, following backslash continuations
    binary: str  # earthly | earth | docker
    assigns: str

    def text(self, source: str) -> str:
        return source[self.start : self.end]


def _continued(lines: Lines, offset: int) -> bool:
    """True when `offset` sits on a line that continues the previous one (which ends with a backslash)."""
    line = lines.line_of(offset)
    if line == 1 or not lines.only_whitespace_before(offset):
        return False
    return lines.line_text(line - 1).rstrip().endswith("\\")


def _command_end(text: str, start: int) -> int:
    """The end of a simple command: the first unquoted separator or an unescaped newline."""
    i, n, quote = start, len(text), ""
    while i < n:
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "\\" and i + 1 < n:
            # Backslashes then a newline continue the line: `\\` too, as a Groovy "…"/'''…''' body spells it.
            j = i
            while j < n and text[j] == "\\":
                j += 1
            i = j + (2 if text.startswith("\r\n", j) else 1) if j < n and text[j] in "\r\n" else i + 2
            continue
        elif ch in ";|&\n" or ch == ")" or (ch == "#" and (i == 0 or text[i - 1] in " \t")):
            return i
        i += 1
    return n


def _comment_line(lines: Lines, offset: int) -> bool:
    line_start = lines.start_of_line(lines.line_of(offset))
    return lines.text[line_start:offset].lstrip().startswith("#")


_PREFIX_ONLY = re.compile(r"[ \t]*" + _WRAPPERS + r"(?P<assigns>" + _ASSIGNS + r")")
_SPLICE = re.compile(r"\\+\r?\n[ \t]*")  # a backslash-newline (`\\` in a Groovy string body) joins two lines


def _continued_prefix(text: str, lines: Lines, offset: int) -> str | None:
    """For a word that starts a continuation line: the assignments before it (`FORCE_COLOR=1 \\` then
    `earth \\`), or None when the lines before it hold a command (then the word is an argument)."""
    first = lines.line_of(offset)
    while first > 1 and lines.line_text(first - 1).rstrip().endswith("\\"):
        first -= 1
    if lines.line_text(first).lstrip().startswith("#"):
        return None
    logical = _SPLICE.sub(" ", text[lines.start_of_line(first) : offset])
    if not logical.strip():
        return ""
    m = _PREFIX_ONLY.fullmatch(logical.rstrip(" \t") + " ")
    return None if m is None else m.group("assigns")


def earthly_commands(text: str) -> list[Command]:
    """Every `earthly`/`earth` invocation in command position that would run a build."""
    lines = Lines(text)
    found = []
    for m in _EARTHLY.finditer(text):
        start = m.start("cmd")
        assigns = m.group("assigns") or ""
        if _comment_line(lines, start):
            continue
        if _continued(lines, m.start()):
            prefix = _continued_prefix(text, lines, m.start())
            if prefix is None:
                continue
            assigns = prefix + assigns
        end = _command_end(text, m.end("cmd"))
        words = text[m.end("cmd") : end].split()
        first = next((w for w in words if not w.startswith("-") or w in _NOT_BUILDS), "")
        if first in _NOT_BUILDS:
            continue
        found.append(Command(start, m.end("cmd"), end, m.group("bin"), assigns))
    return found


def docker_runs(text: str) -> list[Command]:
    lines = Lines(text)
    found = []
    for m in _DOCKER_RUN.finditer(text):
        if _continued(lines, m.start()) or _comment_line(lines, m.start("cmd")):
            continue
        found.append(Command(m.start("cmd"), m.end("cmd"), _command_end(text, m.end("cmd")), "docker", ""))
    return found


# An image whose repository's last part is earthly or earthbuild: earthly/earthly, ghcr.io/earthbuild/earthbuild,
# a mirror's registry.example.com/ci/earthly. A volume such as earthly-tmp:/tmp/earthly has a ':' before its '/'.
_EARTHLY_IMAGE = re.compile(r"(?:[\w.-]+(?::\d+)?/)+earth(?:ly|build)(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?")


def is_earthly_image(word: str) -> bool:
    return bool(_EARTHLY_IMAGE.fullmatch(word))


def is_earthly_run(run_text: str) -> bool:
    """A `docker run` of the earthly/earthly (or EarthBuild) image, or of any image whose command is earthly."""
    words = [w.strip("'\"") for w in _SPLICE.sub(" ", run_text).split()]
    # The command may be a path to the binary (/opt/bin/earthly); a volume (x:/tmp/earthly) has a ':' in it.
    binaries = ("earthly", "earth")
    return any(_EARTHLY_IMAGE.fullmatch(w) or (":" not in w and w.rsplit("/", 1)[-1] in binaries) for w in words)


def earthly_runs(text: str) -> list[Command]:
    return [run for run in docker_runs(text) if is_earthly_run(run.text(text))]


def uses_earthbuild(text: str) -> bool:
    """EarthBuild's `earth` binary is used and Earthly's `earthly` is not: spell variables EARTH_…"""
    bins = {c.binary for c in earthly_commands(text)}
    return bins == {"earth"}


def _disabled_by_assign(cmd: Command) -> bool:
    return any(re.search(rf"\b{key}=['\"]?(?:1|t|true|TRUE|True)\b", cmd.assigns) for key in ENV_KEYS)


def add_flag(text: str, splicer: Splicer, base: int = 0, line_base: int = 0) -> tuple[list[str], list[str]]:
    """Put the flag right after every earthly build command word (global flags go before the target)."""
    changes, already = [], []
    lines = Lines(text)
    for cmd in earthly_commands(text):
        line = lines.line_of(cmd.start) + line_base
        if FLAG in cmd.text(text).split() or any(w.startswith(FLAG + "=") for w in cmd.text(text).split()):
            already.append(f"line {line}: {cmd.binary} already has {FLAG}")
            continue
        if _disabled_by_assign(cmd):
            already.append(f"line {line}: the proxy is already disabled on this command")
            continue
        splicer.insert(base + cmd.cmd_end, " " + FLAG)
        changes.append(f"line {line}: added {FLAG} before the target")
    return changes, already


def set_network_host(text: str, splicer: Splicer, base: int = 0, line_base: int = 0) -> tuple[list[str], list[str]]:
    """Put `--network host` on the `docker run` commands that run Earthly, and on no other."""
    changes, already = [], []
    lines = Lines(text)
    for run in earthly_runs(text):
        line = lines.line_of(run.start) + line_base
        segment = text[run.cmd_end : run.end]
        net = _NETWORK.search(segment)
        if net is None:
            splicer.insert(base + run.cmd_end, " --network host")
            changes.append(f"line {line}: added --network host to docker run")
        elif net.group("val") == "host":
            already.append(f"line {line}: docker run already uses --network host")
        elif net.group("val") in ("bridge", "default"):
            where = run.cmd_end + net.start("val")
            splicer.replace(base + where, base + run.cmd_end + net.end("val"), "host")
            changes.append(f"line {line}: changed --network {net.group('val')} to --network host")
        else:
            raise EditRefused(line, f"docker run already sets --network {net.group('val')}; will not replace it")
    return changes, already


def _env_opt(key: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\S)(?:-e|--env)(?:=|[ \t]+)(?P<q>['\"]?)(?P<key>{key})(?:=(?P<val>[^\s'\"]*))?(?P=q)")


def pass_env_to_earthly_runs(text: str, splicer: Splicer, keys: tuple[str, ...], base: int = 0,
                             line_base: int = 0) -> tuple[list[str], list[str]]:
    """Set the variables on `docker run … earthly/earthly …`: the job's environment never reaches the container."""
    changes, already = [], []
    lines = Lines(text)
    for run in earthly_runs(text):
        line = lines.line_of(run.start) + line_base
        for key in keys:
            opt = _env_opt(key).search(text, run.cmd_end, run.end)
            if opt is None:
                splicer.insert(base + run.cmd_end, f" -e {key}=true")
                why = "the container does not inherit the environment"
                changes.append(f"line {line}: added -e {key}=true to docker run ({why})")
            elif opt.group("val") in GO_TRUE:
                already.append(f"line {line}: docker run already passes {key}={opt.group('val')}")
            elif opt.group("val") is None:
                splicer.insert(base + opt.end("key"), "=true")
                changes.append(f"line {line}: docker run now passes {key}=true (it passed the caller's value through)")
            else:
                splicer.replace(base + opt.start("val"), base + opt.end("val"), "true")
                changes.append(f"line {line}: changed docker run's -e {key}={opt.group('val')} to true")
    return changes, already


def keys_for(text: str) -> tuple[str, ...]:
    """The variables to set: EarthBuild's `earth` reads EARTH_…; old Earthly (also `earth`) reads EARTHLY_…"""
    bins = {c.binary for c in earthly_commands(text)}
    return (ENV_KEYS[1], ENV_KEYS[0]) if "earth" in bins else (ENV_KEYS[0],)


# `export KEY=true`, or `KEY=true` alone on its line (not a prefix assignment of one command).
_EXPORT = re.compile(
    r"^[ \t]*(?:export[ \t]+)?(?P<key>EARTH(?:LY)?_DISABLE_REMOTE_REGISTRY_PROXY)=(?P<val>[^\s;]*)[ \t]*(?:;|#.*)?\r?$",
    re.M,
)
_PREAMBLE = re.compile(r"^(?:#.*|[ \t]*|set[ \t].*|shopt[ \t].*)$")


def edit_script_disable_proxy(text: str, style: str = "flag") -> EditOutcome:
    """A shell script: the flag on every earthly build command (style `flag`) or an `export` line (style `env`)."""
    existing = [m for m in _EXPORT.finditer(text) if m.group("val").strip("'\"") in GO_TRUE]
    lines = Lines(text)
    splicer = Splicer(text)
    keys = keys_for(text)
    run_changes, run_already = pass_env_to_earthly_runs(text, splicer, keys)
    if (run_changes or run_already) and not earthly_commands(text):
        return EditOutcome(splicer.apply(), run_changes, already=run_already)
    if existing:
        line = lines.line_of(existing[0].start())
        already = run_already + [f"line {line}: {existing[0].group('key')} is already exported"]
        return EditOutcome(splicer.apply(), run_changes, already=already)
    if style == "flag":
        changes, already = add_flag(text, splicer)
        if changes or already:
            return EditOutcome(splicer.apply(), run_changes + changes, already=run_already + already)
    nl = newline_of(text)
    # After the shebang, leading comments and `set -e` lines, so the variable is set before any command runs.
    offset, pos = 0, 0
    for raw in text.splitlines(keepends=True):
        pos += len(raw)
        body = raw.rstrip("\r\n")
        if body.strip() == "":
            continue
        if not _PREAMBLE.match(body):
            break
        offset = pos
    if offset == len(text) and text and not text.endswith("\n"):
        splicer.insert(offset, nl)
    splicer.insert(offset, "".join(f"export {k}=true{nl}" for k in keys))
    added = [f"line {lines.line_of(offset)}: added export {k}=true" for k in keys]
    return EditOutcome(splicer.apply(), run_changes + added, already=run_already)


def edit_script_host_network(text: str) -> EditOutcome:
    splicer = Splicer(text)
    changes, already = set_network_host(text, splicer)
    if not changes and not already:
        commands = earthly_commands(text)
        if commands:
            line = Lines(text).line_of(commands[0].start)
            raise NotApplicable(line, "earthly runs directly in this script, not in a container it starts; "
                                      "host-network changes a container: run the script in one with --network host, "
                                      "or use disable-proxy")
        raise NotApplicable(0, "no `docker run` of an earthly image here; add --network host to the container that "
                               "runs earthly yourself")
    return EditOutcome(splicer.apply(), changes, [], already)
