"""An agent Dockerfile: set the proxy-disabling ENV in the final stage, as the earthly/earthly image does (≥ v0.8.2)."""

from __future__ import annotations

import re

from earthly_doctor.remedies.edit.text import EditOutcome, Lines, Splicer, newline_of
from earthly_doctor.gobool import GO_TRUE  # Go strconv.ParseBool, as urfave/cli reads the variable

_FROM = re.compile(r"^[ \t]*FROM[ \t]+(?P<rest>.*)$", re.M | re.I)
_ENV = re.compile(
    r"^[ \t]*ENV[ \t]+(?:.*\s)?(?P<key>EARTH(?:LY)?_DISABLE_REMOTE_REGISTRY_PROXY)(?:=|[ \t]+)['\"]?(?P<val>[^\s'\"]*)",
    re.M | re.I,
)
_GOOD_IMAGE = re.compile(r"earthly/earthly:v?0\.8\.(?:[2-9]|\d\d)\b|earthly/earthly(?::latest)?(?:\s|$)")


def edit_dockerfile_env(text: str, key: str = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY") -> EditOutcome:
    lines = Lines(text)
    froms = list(_FROM.finditer(text))
    if not froms:
        from earthly_doctor.remedies.edit.text import EditRefused

        raise EditRefused(1, "no FROM instruction: is this a Dockerfile?")
    last = froms[-1]
    final_stage = text[last.start():]
    for env in _ENV.finditer(final_stage):
        if env.group("val") in GO_TRUE:
            return EditOutcome(text, already=[f"line {lines.line_of(last.start() + env.start())}: ENV {env.group('key')} is already set"])
    # The FROM instruction may continue over backslash-ended lines; the ENV goes after its last line.
    line = lines.line_of(last.start())
    while lines.line_text(line).rstrip().endswith("\\") and line < len(lines.starts):
        line += 1
    nl = newline_of(text)
    splicer = Splicer(text)
    at = lines.end_of_line(line)
    splicer.insert(at, f"{nl}ENV {key}=true")
    if at == len(text):
        splicer.insert(at, nl)
    notes = []
    if _GOOD_IMAGE.search(last.group("rest")):
        notes.append("the final stage is based on earthly/earthly ≥ v0.8.2, which sets the variable already; the ENV line only makes it explicit")
    return EditOutcome(splicer.apply(), [f"line {line + 1}: added ENV {key}=true to the final stage"], notes)
