"""The remedies over the whole corpus of example Jenkinsfiles, hand-written and public (examples/jenkinsfiles/public).

The checks here do not use the pipeline model they test: "runs earthly" is judged by plain text (brace regions
and a word match), and for the public files by the runs-earthly column of SOURCES, which was filled in by reading
each file.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from earthly_doctor.remedies.edit.text import EditRefused
from tests.unit.test_remedy_goldens import JENKINSFILES, PUBLIC, corpus, read, run_editor

EARTHLY_WORD = re.compile(r"(?<![\w/.-])(?:earthly|earth)(?![\w-])|earthly/earthly|(?<![\w-])earthly[\w-]*\.sh")


def sources() -> dict[str, dict[str, str]]:
    rows = {}
    for line in (PUBLIC / "SOURCES").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, repo, path, commit, licence, copyright_, earthly = (c.strip() for c in line.split(" | "))
        rows[name] = {"repo": repo, "path": path, "commit": commit, "licence": licence, "earthly": earthly}
    return rows


def test_sources_lists_every_public_file_with_a_permissive_licence():
    rows = sources()
    files = {p.name for p in PUBLIC.glob("*.Jenkinsfile")}
    assert files == set(rows) and len(files) >= 15
    for name, row in rows.items():
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]), name
        assert row["licence"] in ("MIT", "Apache-2.0"), name
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", row["repo"]), name
    assert {r["earthly"] for r in rows.values()} == {"yes", "no"}  # both kinds are in the corpus
    assert (PUBLIC / "NOTICE-MIT.txt").exists() and (PUBLIC / "LICENSE-Apache-2.0.txt").exists()


def _regions(text: str) -> list[tuple[int, int]]:
    """Every `{…}` of the text as (start, end) offsets, by plain brace counting."""
    stack, out = [], []
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            out.append((stack.pop(), i))
    return out


def _runs_earthly_where(text: str, offset: int) -> bool:
    """The changed line names earthly itself (a `docker run earthly/earthly …`), or the innermost brace region around
    it that holds a step also holds an earthly call: a container's args belong to the steps next to them."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    if "docker run" in text[start:offset]:  # a command in a step: the command itself, with its continuation lines
        command = text[start:]
        stop = re.search(r"(?<!\\)\n", command)
        return bool(EARTHLY_WORD.search(command[: stop.start() if stop else None].split("--network host")[-1]))
    around = sorted((r for r in _regions(text) if r[0] < offset < r[1]), key=lambda r: r[1] - r[0])
    # The region after a closure header on this line (`.inside('…') {`) is the container's body.
    line = text[start:end if end >= 0 else None].rstrip()
    opened = start + len(line) - 1 if line.endswith("{") else -1
    if opened >= 0:
        body = next((r for r in _regions(text) if r[0] == opened), None)
        if body is not None:
            return bool(EARTHLY_WORD.search(text[body[0]:body[1]]))
    for lo, hi in around:
        region = text[lo:hi]
        if re.search(r"\b(?:sh|bat)\b", region):
            return bool(EARTHLY_WORD.search(region))
    return False


CORPUS = corpus()


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_host_network_edits_only_containers_that_run_earthly(path: Path):
    source = read(path)
    try:
        outcome = run_editor("host-network", path, source, {})
    except EditRefused:
        return  # refusing is always safe; the reviewed refusals are goldens
    new = outcome.text
    matcher = difflib.SequenceMatcher(a=source.splitlines(), b=new.splitlines(), autojunk=False)
    changed = [j for tag, _, _, j1, j2 in matcher.get_opcodes() if tag != "equal" for j in range(j1, j2)]
    lines = new.splitlines(keepends=True)
    for j in changed:
        offset = sum(len(line) for line in lines[:j]) + lines[j].find("--network host")
        assert "--network host" in lines[j], f"{path.name}:{j + 1}: host-network changed a line without adding the flag"
        where = f"{path.name}:{j + 1}"
        assert _runs_earthly_where(new, offset), f"{where}: --network host on a container that does not run earthly"


@pytest.mark.parametrize("name,row", sorted(sources().items()), ids=sorted(sources()))
def test_public_files(name: str, row: dict[str, str]):
    """Files that run earthly: disable-proxy is a few added lines. Files that do not: host-network refuses."""
    path = PUBLIC / name
    source = read(path)
    if row["earthly"] == "yes":
        outcome = run_editor("disable-proxy", path, source, {})
        diff = [d for d in difflib.unified_diff(source.splitlines(), outcome.text.splitlines(), lineterm="", n=0)
                if d[:1] in "+-" and not d.startswith(("+++", "---"))]
        assert diff and all(d.startswith("+") for d in diff) and len(diff) <= 4, diff
        assert all("DISABLE_REMOTE_REGISTRY_PROXY" in d for d in diff)
    else:
        with pytest.raises(EditRefused, match="no sh step runs earthly"):
            run_editor("host-network", path, source, {})


def test_disable_proxy_warns_about_a_file_that_shows_no_earthly(tmp_path: Path):
    from earthly_doctor.remedies.base import Target, Topology
    from earthly_doctor.remedies.engine import load_remedies

    remedy = load_remedies().remedies["disable-proxy"]
    quiet = tmp_path / "Jenkinsfile"
    quiet.write_bytes((PUBLIC / "docker-workflow-agentDocker.Jenkinsfile").read_bytes())
    loud = tmp_path / "earthly.Jenkinsfile"
    loud.write_bytes((PUBLIC / "storj-eventkit.Jenkinsfile").read_bytes())
    targets = [Target(quiet, "jenkinsfile"), Target(loud, "jenkinsfile")]
    plan = remedy.plan(Topology(cause="proxy-unreachable"), targets, {})
    assert len(plan.warnings) == 1 and plan.warnings[0].startswith(f"{quiet}: no earthly call is visible")


def test_the_hand_written_corpus_is_still_there():
    assert len(list(JENKINSFILES.glob("*.Jenkinsfile"))) >= 32
