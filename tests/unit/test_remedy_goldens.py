"""Every example input, through each remedy that applies to it, against a reviewed golden; then idempotence.

Regenerate after a deliberate change with EARTHLY_DOCTOR_UPDATE_GOLDENS=1 and review the diff of tests/goldens/.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

from earthly_doctor.remedies.edit.text import EditRefused
from earthly_doctor.remedies.engine import kind_of, load_remedies

ROOT = Path(__file__).resolve().parents[2]
JENKINSFILES = ROOT / "examples" / "jenkinsfiles"
PUBLIC = JENKINSFILES / "public"  # real repositories' files, see public/SOURCES
INPUTS = ROOT / "examples" / "remedy-inputs"
GOLDENS = ROOT / "tests" / "goldens" / "remedies"
UPDATE = bool(os.environ.get("EARTHLY_DOCTOR_UPDATE_GOLDENS"))

# Jenkinsfiles whose host-network result is print-only (earthly runs in a pod: the pod spec is not edited).
PRINT_ONLY_HOST_NETWORK = {
    "kubernetes-agent.Jenkinsfile", "kubernetes-yaml.Jenkinsfile", "pod-template-scripted.Jenkinsfile",
}


def corpus() -> list[Path]:
    """Every example Jenkinsfile: the hand-written shapes and the public ones."""
    return sorted(JENKINSFILES.glob("*.Jenkinsfile")) + sorted(PUBLIC.glob("*.Jenkinsfile"))


def _cases():
    cases = []
    for path in corpus():
        cases.append((path, "disable-proxy", {}, "disable-proxy"))
        if path.name not in PRINT_ONLY_HOST_NETWORK:
            cases.append((path, "host-network", {}, "host-network"))
    cases += [
        (JENKINSFILES / "old-image.Jenkinsfile", "earthly-image", {}, "earthly-image"),
        (JENKINSFILES / "multiline-sh.Jenkinsfile", "disable-proxy", {"style": "flag"}, "disable-proxy-flag"),
        (JENKINSFILES / "scripted-inside.Jenkinsfile", "disable-proxy", {"style": "flag"}, "disable-proxy-flag"),
        (JENKINSFILES / "existing-environment.Jenkinsfile", "disable-proxy", {"stage": "Build"}, "disable-proxy-stage"),
        (JENKINSFILES / "per-stage-agents.Jenkinsfile", "disable-proxy", {"stage": "Image"}, "disable-proxy-stage"),
        (JENKINSFILES / "docker-run-gstring.Jenkinsfile", "earthly-image", {}, "earthly-image"),
        (JENKINSFILES / "return-status.Jenkinsfile", "disable-proxy", {"style": "flag"}, "disable-proxy-flag"),
        (JENKINSFILES / "gstring-args.Jenkinsfile", "disable-proxy", {"style": "flag"}, "disable-proxy-flag"),
        (JENKINSFILES / "closures-scripted.Jenkinsfile", "disable-proxy", {"style": "flag"}, "disable-proxy-flag"),
        (JENKINSFILES / "agent-none-options.Jenkinsfile", "disable-proxy", {"stage": "Build"}, "disable-proxy-stage"),
        (JENKINSFILES / "matrix.Jenkinsfile", "disable-proxy", {"stage": "Build"}, "disable-proxy-stage"),
        (INPUTS / "build-image.sh", "disable-proxy", {}, "disable-proxy"),
        (INPUTS / "build-image.sh", "disable-proxy", {"style": "env"}, "disable-proxy-env"),
        (INPUTS / "run-earthly-container.sh", "host-network", {}, "host-network"),
        (INPUTS / "workspace.env", "disable-proxy", {}, "disable-proxy"),
        (INPUTS / "config.yml", "pinned-port", {}, "pinned-port"),
        (INPUTS / "Dockerfile.agent", "earthly-image", {}, "earthly-image"),
    ]
    return cases


CASES = _cases()


def golden_path(path: Path, variant: str) -> Path:
    return GOLDENS / f"{path.name}.{variant}.expected"


def refusal_path(path: Path, variant: str) -> Path:
    """A reviewed refusal: the one line the remedy says instead of editing."""
    return GOLDENS / f"{path.name}.{variant}.refused"


def run_editor(remedy_id: str, path: Path, text: str, options: dict):
    remedy = load_remedies().remedies[remedy_id]
    editor = remedy.editor(kind_of(path), {"style": None, "stage": None, **options})
    assert editor is not None, f"{remedy_id} has no editor for {path.name}"
    return editor(text)


def refused(remedy_id: str, path: Path, options: dict) -> str | None:
    try:
        run_editor(remedy_id, path, read(path), options)
    except EditRefused as exc:
        return f"line {exc.line}: {exc.reason}\n"
    return None


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("path,remedy_id,options,variant", CASES, ids=[f"{c[0].name}-{c[3]}" for c in CASES])
def test_golden(path, remedy_id, options, variant):
    source = read(path)
    golden, refusal = golden_path(path, variant), refusal_path(path, variant)
    try:
        outcome = run_editor(remedy_id, path, source, options)
    except EditRefused as exc:
        if UPDATE:
            refusal.write_text(f"line {exc.line}: {exc.reason}\n")
            golden.unlink(missing_ok=True)
        assert refusal.exists(), f"{remedy_id} refused {path.name} ({exc.reason}); no reviewed refusal {refusal.name}"
        assert f"line {exc.line}: {exc.reason}\n" == refusal.read_text()
        assert not golden.exists(), f"{golden.name} and {refusal.name} cannot both hold"
        return
    assert outcome.changes, f"{remedy_id} changed nothing in {path.name}"
    if UPDATE:
        golden.write_bytes(outcome.text.encode("utf-8"))
        refusal.unlink(missing_ok=True)
    assert golden.exists(), f"missing golden {golden.name}; run with EARTHLY_DOCTOR_UPDATE_GOLDENS=1"
    assert not refusal.exists(), f"{refusal.name} says the remedy refuses, but it edited"
    assert outcome.text == read(golden)


# A refused case has no golden: a second run and a line-by-line comparison apply only to edits that were made.
EDITED = [c for c in CASES if not refusal_path(c[0], c[3]).exists()]


@pytest.mark.parametrize("path,remedy_id,options,variant", EDITED, ids=[f"{c[0].name}-{c[3]}" for c in EDITED])
def test_idempotent(path, remedy_id, options, variant):
    fixed = read(golden_path(path, variant))
    again = run_editor(remedy_id, path, fixed, options)
    assert again.text == fixed
    assert not again.changes
    assert again.already, "a second run must say what it found already in place"


@pytest.mark.parametrize("path,remedy_id,options,variant", EDITED, ids=[f"{c[0].name}-{c[3]}" for c in EDITED])
def test_only_the_edit_changes(path, remedy_id, options, variant):
    """Line endings are kept, and every line of the input survives in order (edits only add or change lines)."""
    source, fixed = read(path), read(golden_path(path, variant))
    if "\r\n" in source:
        assert fixed.count("\r\n") == fixed.count("\n"), "a CRLF file must stay CRLF throughout"
    else:
        assert "\r\n" not in fixed
    import difflib

    changes = run_editor(remedy_id, path, source, options).changes
    old, new = source.splitlines(), fixed.splitlines()
    rewritten = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            added = {line.strip() for line in new[j1:j2]}
            rewritten += sum(1 for line in old[i1:i2] if line.strip() not in added)  # re-indented lines do not count
    assert rewritten <= len(changes), "only the lines an edit reports may change"


def test_kubernetes_agent_is_print_only():
    path = JENKINSFILES / "kubernetes-agent.Jenkinsfile"
    outcome = run_editor("host-network", path, read(path), {})
    assert outcome.text == read(path)
    assert any("hostNetwork: true" in note for note in outcome.notes)


def test_corpus_covers_the_required_shapes():
    names = {p.name for p in JENKINSFILES.glob("*.Jenkinsfile")}
    assert len(names) >= 28
    texts = {n: read(JENKINSFILES / n) for n in names}
    assert any("dockerfile {" in t for t in texts.values())
    assert any(".inside(" in t for t in texts.values())
    assert any("withDockerContainer" in t for t in texts.values())
    assert any("kubernetes {" in t for t in texts.values())
    assert any("\r\n" in t for t in texts.values())
    assert any("sh '''" in t for t in texts.values())
    assert any("environment {" in t for t in texts.values())
    assert any("-u " in t and "args '" in t for t in texts.values())
    # Shapes from real projects' Jenkinsfiles (the second batch of examples).
    assert any("matrix {" in t for t in texts.values())
    assert any("credentials(" in t for t in texts.values())
    assert any("returnStatus: true" in t for t in texts.values())
    assert any("docker.withRegistry(" in t for t in texts.values())
    assert any("yaml '''" in t for t in texts.values())
    assert any(" -> " in t for t in texts.values())
    assert any('args "' in t and "${" in t for t in texts.values())
    assert any("\t" in t for t in texts.values())
    assert any(not t.endswith("\n") for t in texts.values())


def _enclosing_stages(text: str, offset: int) -> list[str]:
    """The names of the `stage('…')` blocks around `offset`, innermost first, found by walking out brace by
    brace (independent of the editor's own parser)."""
    names, depth = [], 0
    for i in range(offset - 1, -1, -1):
        if text[i] == "}":
            depth += 1
        elif text[i] == "{" and depth:
            depth -= 1
        elif text[i] == "{":
            head = text[text.rfind("\n", 0, i) + 1 : i]
            m = re.search(r"\bstage\s*\(\s*['\"]([^'\"]+)['\"]\s*\)\s*$", head)
            if m:
                names.append(m.group(1))
    return names


STAGE_CASES = [c for c in CASES if c[2].get("stage")]


@pytest.mark.parametrize("path,remedy_id,options,variant", STAGE_CASES, ids=[c[0].name for c in STAGE_CASES])
def test_a_stage_scoped_edit_lands_in_that_stage(path, remedy_id, options, variant):
    """Checked by content, not only against the golden: every line the edit adds sits inside the named stage."""
    source, edited = read(path), run_editor(remedy_id, path, read(path), options).text
    added = [line for line in difflib.ndiff(source.splitlines(keepends=True), edited.splitlines(keepends=True))
             if line.startswith("+ ")]
    assert any("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY" in line for line in added)
    cursor = 0
    for line in added:
        at = edited.index(line[2:], cursor)
        cursor = at + 1
        assert options["stage"] in _enclosing_stages(edited, at), f"{line[2:].strip()!r} is outside stage {options['stage']}"
    # Idempotence by content too: a second run finds it in that stage and adds nothing anywhere.
    again = run_editor(remedy_id, path, edited, options)
    assert again.text == edited and not again.changes and again.already
