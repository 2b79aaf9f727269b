"""The one `.env` reader follows godotenv v1.5 (joho/godotenv parser.go, fixtures/*.env): the probe (ED140), the
`.env` editor and the Earthly stand-in all read a file the way Earthly does."""

from __future__ import annotations

import os
import time

import pytest

from earthly_doctor.dotenv import DotenvError, parse_dotenv, read_dotenv
from earthly_doctor.probes.earthly_settings import evaluate
from earthly_doctor.remedies.edit.envfile import edit_env_disable_proxy
from earthly_doctor.remedies.edit.text import EditRefused


@pytest.mark.parametrize(
    "text,expected",
    [
        # godotenv's fixtures/plain.env, quoted.env, exported.env, comments.env shapes
        ("OPTION_A=1\nOPTION_B=2\n", {"OPTION_A": "1", "OPTION_B": "2"}),
        ("OPTION_A='1'\nOPTION_B=\"2\"\nOPTION_C='\\n'\nOPTION_D=\"\\n\"\n",
         {"OPTION_A": "1", "OPTION_B": "2", "OPTION_C": "\\n", "OPTION_D": "\n"}),
        ("export OPTION_A=2\nexport\tOPTION_B='\\n'\n", {"OPTION_A": "2", "OPTION_B": "\\n"}),
        ("# Full line comment\nfoo=bar # baz\nbar=foo#baz\nbaz=\"foo\"#bar\n", {"foo": "bar", "bar": "foo#baz", "baz": "foo"}),
        ("OPTION_A: 1\nOPTION_B: '2'\n", {"OPTION_A": "1", "OPTION_B": "2"}),  # the YAML style
        ("A=1\nB=$A\nC=${A}x\nD='$A'\nE=\"\\$A\"\n", {"A": "1", "B": "1", "C": "1x", "D": "$A", "E": "$A"}),
        ("A=\"multi\nline\"\n", {"A": "multi\nline"}),
        ("A=true\r\nA=false\r\n", {"A": "false"}),  # CRLF, and the last assignment wins
        ("A=\n", {"A": ""}),
    ],
)
def test_values_as_godotenv_reads_them(text, expected):
    assert parse_dotenv(text) == expected


def test_variables_expand_from_the_environment_after_the_file():
    assert parse_dotenv("A=${HOME}/x\n", {"HOME": "/h"}) == {"A": "/h/x"}


@pytest.mark.parametrize("text", ["EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY\n", "A-B=1\n", "A='open\n"])
def test_what_godotenv_rejects_is_an_error(text):
    with pytest.raises(DotenvError):
        parse_dotenv(text)


def test_a_fifo_or_a_missing_file_reads_as_empty_and_never_blocks(tmp_path):
    fifo = tmp_path / ".env"
    os.mkfifo(fifo)
    assert read_dotenv(fifo) == {}
    assert read_dotenv(tmp_path / "missing.env") == {}


def test_the_probe_reads_what_earthly_reads(tmp_path):
    (tmp_path / ".env").write_text("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\nEARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=false\n")
    assert evaluate({}, tmp_path).export_path == "proxy"  # the last assignment wins: the proxy is on
    (tmp_path / ".env").write_text("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY: 'true' # YAML style\n")
    assert evaluate({}, tmp_path).proxy_disabled.value is True
    (tmp_path / ".env").write_text("not a setting\n")
    settings = evaluate({}, tmp_path)
    assert settings.export_path == "invalid" and "Error loading dot-env file" in settings.export_detail


def test_the_editor_reads_what_earthly_reads():
    # A later `false` wins in godotenv: the file does not disable the proxy yet, so the editor must change it.
    outcome = edit_env_disable_proxy("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\nEARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=false\n")
    assert outcome.changes and outcome.text.endswith("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n")
    assert parse_dotenv(outcome.text)["EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"] == "true"
    already = edit_env_disable_proxy("export EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY='1'\n")
    assert not already.changes and already.already
    with pytest.raises(EditRefused):
        edit_env_disable_proxy("not a setting\n")


@pytest.mark.parametrize("text", [
    "".join(f"# padding line {i:08d}\n" for i in range(300_000)) + "A=1\n",  # a large file: one pass
    "A" + " " * 500_000 + "B\n",  # long runs that fail: no backtracking
    "K" * 500_000 + " " * 500_000 + "\n",
])
def test_reading_is_linear_even_for_hostile_files(text):
    began = time.monotonic()
    try:
        parse_dotenv(text)
    except DotenvError:
        pass
    assert time.monotonic() - began < 3.0
