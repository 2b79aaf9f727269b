"""Editors on damaged input: they refuse with a line, or produce an edit that is stable on a second run.
Never any other exception (a traceback is a bug), whatever the cut or the stray character."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earthly_doctor.remedies.edit import jenkinsfile as J
from earthly_doctor.remedies.edit.shell import edit_script_disable_proxy, edit_script_host_network
from earthly_doctor.remedies.edit.text import EditRefused

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p.read_bytes().decode() for p in sorted((ROOT / "examples" / "jenkinsfiles").glob("**/*.Jenkinsfile"))]
EDITORS = [J.edit_disable_proxy, J.edit_host_network, J.edit_image, lambda t: J.edit_disable_proxy(t, style="flag")]


def damaged():
    return st.tuples(
        st.sampled_from(SOURCES),
        st.floats(0, 1),
        st.floats(0, 1),
        st.sampled_from(["", "{", "}", "'", '"', "'''", "/", "(", ")", "\n", "\r\n", "${", "//", "/*", "\\"]),
    ).map(lambda t: t[0][: int(len(t[0]) * t[1])] + t[3] + t[0][int(len(t[0]) * t[2]):])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged(), st.sampled_from(range(len(EDITORS))))
def test_jenkinsfile_editors_refuse_or_edit_stably(text, which):
    editor = EDITORS[which]
    try:
        out = editor(text)
    except EditRefused as exc:
        assert exc.line >= 0 and exc.reason
        return
    again = editor(out.text)
    assert again.text == out.text and not again.changes


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("earthly docker run --network host \\\n;&|#'\"$()+-=")), max_size=120))
def test_shell_editors_never_crash_and_are_idempotent(text):
    for editor in (edit_script_disable_proxy, edit_script_host_network):
        try:
            out = editor(text)
        except EditRefused:
            continue
        assert editor(out.text).text == out.text
