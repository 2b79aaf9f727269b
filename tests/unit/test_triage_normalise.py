"""Jenkins/Earthly line normalisation (research/jenkins.md §4): notes, timestamps, ANSI, remnants, CR, stages."""

from __future__ import annotations

import gzip
import io
import sys

import pytest

from earthly_doctor.errors import DoctorError
from earthly_doctor.triage.normalise import MAX_STAGE_DEPTH, PipelineState, clean, timestamp_of, visible_line
from earthly_doctor.triage.sources import check_readable, open_log

NOTE = "\x1b[8mha:////4CeZPe0obTWYMQyce8hr7Bz0tXsm3jJQIfMdEFpCDwFnAAAAxB+LCAAAAAAAAP9b85aBtbiIQTGjNKU=\x1b[0m"


def test_timestamper_prefix_is_27_bytes_and_remembered():
    text, stamp = clean("[2024-01-22T23:20:55.244Z] Error: pull ping error")
    assert (text, stamp) == ("Error: pull ping error", "2024-01-22T23:20:55.244Z")
    assert timestamp_of(b"[2024-01-22T23:20:55.244Z] x") == "2024-01-22T23:20:55.244Z"
    assert timestamp_of(b"[2024-01-22 23:20:55] x") is None
    # Not at the start of a line: not a prefix.
    assert clean("x [2024-01-22T23:20:55.244Z] y")[1] is None


def test_html_console_copies_and_logs_read_from_an_offset():
    assert clean("23:20:55  Error: pull ping error") == ("Error: pull ping error", "23:20:55")
    assert clean("12:00:00 not a stamp")[1] is None
    # progressiveText from an offset can begin inside a note: its Base64 tail is dropped with the closing code.
    assert clean("RpbWVzdGFtcGVy+LCAAA==\x1b[0m[Pipeline] sh")[0] == "[Pipeline] sh"


def test_console_notes_go_before_ansi_so_their_base64_never_survives():
    text, stamp = clean(f"[2024-01-22T23:20:55.244Z] {NOTE}[Pipeline] sh")
    assert (text, stamp) == ("[Pipeline] sh", "2024-01-22T23:20:55.244Z")
    assert clean(f"Started by user {NOTE}admin")[0] == "Started by user admin"
    # A note cut off (corrupt or truncated) still loses its payload and never raises.
    assert clean("x \x1b[8mha:////4AAAA")[0] == "x "


def test_ansi_and_copy_paste_remnants():
    assert clean("\x1b[31mError:\x1b[0m pull ping error\x1b[K")[0] == "Error: pull ping error"
    assert clean("\x1b]8;;http://x\x07link\x1b]8;;\x07")[0] == "link"
    assert clean("100% exporting outputs[K")[0] == "100% exporting outputs"
    assert clean("[31mError: [0mpull")[0] == "Error: pull"
    # Brackets that are not remnants survive: [Pipeline], timestamps, [----------] progress, array[0].
    assert clean("[Pipeline] { (Image)")[0] == "[Pipeline] { (Image)"
    assert clean("output | [----------] 100%")[0] == "output | [----------] 100%"
    assert clean("a[0] = 1")[0] == "a[0] = 1"


def test_visible_line_keeps_what_a_terminal_shows():
    raw = b"[2024-01-22T23:20:47.159Z] output | [--] 10%\r output | [----] 40%\r output | 100% done\r\n"
    assert visible_line(raw) == (" output | 100% done", "2024-01-22T23:20:47.159Z")
    assert visible_line(b"caf\xe9 \xff\xfe ok\n")[0] == "caf\ufffd \ufffd\ufffd ok"


def test_pipeline_state_tracks_stages_and_nodes():
    state = PipelineState()
    lines = [
        "[Pipeline] node", "Running on agent-1 in /w", "[Pipeline] {", "[Pipeline] stage", "[Pipeline] { (Build)",
        "[Pipeline] }", "[Pipeline] // stage", "[Pipeline] stage", "[Pipeline] { (Image)", "[Pipeline] withEnv",
        "[Pipeline] {",
    ]
    for line in lines:
        assert state.observe(line)
    assert (state.stage, state.node) == ("Image", "agent-1")
    assert not state.observe("+ earthly +image")
    for line in ("[Pipeline] }", "[Pipeline] }", "[Pipeline] // stage"):
        state.observe(line)
    assert state.stage is None
    state.observe("[Pipeline] // node")
    assert state.node is None


def test_pipeline_state_is_bounded_and_tolerates_stray_closers():
    state = PipelineState()
    for _ in range(10):
        state.observe("[Pipeline] }")
    for n in range(10_000):
        state.observe(f"[Pipeline] {{ (S{n})")
    assert len(state.stack) == MAX_STAGE_DEPTH


def test_open_log_plain_gzip_and_errors(tmp_path):
    plain = tmp_path / "a.log"
    plain.write_bytes(b"one\ntwo\n")
    gz = tmp_path / "a.log.weird-name"
    gz.write_bytes(gzip.compress(b"one\ntwo\n"))
    assert b"".join(open_log(plain)) == b"one\ntwo\n"
    assert b"".join(bytes(c) for c in open_log(gz, 3, reuse=True)) == b"one\ntwo\n"
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(bytes(range(256)) * 40)[:200])
    with pytest.raises(DoctorError, match="damaged gzip"):
        b"".join(open_log(bad))
    with pytest.raises(DoctorError, match="no such file"):
        check_readable(str(tmp_path / "missing.log"))
    with pytest.raises(DoctorError, match="is a directory"):
        list(open_log(tmp_path))


def test_open_log_reads_stdin_plain_and_gzip(monkeypatch):
    for payload in (b"hello\n", gzip.compress(b"hello\n")):
        fake = io.TextIOWrapper(io.BufferedReader(io.BytesIO(payload)))
        monkeypatch.setattr(sys, "stdin", fake)
        assert b"".join(open_log("-")) == b"hello\n"
