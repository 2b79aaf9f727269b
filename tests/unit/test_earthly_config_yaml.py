"""Earthly's config.yml read as Earthly reads it (gopkg.in/yaml.v3 into config.Config, here through ruamel.yaml):
block and flow style alike, real files on disk, and the precedence --buildkit-host > EARTHLY_BUILDKIT_HOST
(environment, then .env) > `buildkit_host` in the file (util/containerutil/shell_shared.go, HEAD 6e641c15d)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from earthly_doctor.cli.app import build_app
from earthly_doctor.probes.earthly_settings import evaluate, read_global_config
from typer.testing import CliRunner

V = "earthly version v0.8.15 6e641c15d3b4d7dd396363b61d2381faa2658f3d linux/amd64; Debian 12"
OFF = {"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true"}


def config(home: Path, text: str) -> Path:
    path = home / ".earthly" / "config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ev(home: Path, env: dict[str, str] | None = None, **kw):
    return evaluate({"HOME": str(home), **(env or {})}, home, version_text=V, **kw)


@pytest.mark.parametrize("text", [
    "global:\n  buildkit_host: tcp://bk:8372\n",
    "global: {buildkit_host: 'tcp://bk:8372'}\n",
    'global: {"buildkit_host": "tcp://bk:8372", cache_size_mb: 20000}\n',
    "---\n# remote BuildKit\nglobal:\n    buildkit_host: &bk 'tcp://bk:8372'  # a comment\n    tls_enabled: true\n",
    "git: {github.com: {auth: ssh}}\nglobal:\n  buildkit_additional_args: [a, b]\n  buildkit_host: \"tcp://bk:8372\"\n",
])
def test_block_and_flow_style_both_name_a_remote_buildkit(tmp_path, text):
    path = config(tmp_path, text)
    s = ev(tmp_path, OFF)
    assert s.buildkit_host.value == "tcp://bk:8372" and s.buildkit_host.source == f"buildkit_host ({path})"
    assert s.buildkit_local is False
    assert s.export_path == "tar" and s.config_path == str(path)


def test_flow_style_local_registry_host_empty_means_tar_with_a_local_buildkit(tmp_path):
    config(tmp_path, "global: {local_registry_host: ''}\n")
    s = ev(tmp_path, OFF)
    assert s.buildkit_local and s.local_registry_host.value == "" and s.export_path == "tar"


def test_flow_style_pinned_local_registry_is_the_8371_path(tmp_path):
    config(tmp_path, "global: {local_registry_host: 'tcp://127.0.0.1:8371', disable_analytics: true}\n")
    s = ev(tmp_path, OFF)
    assert s.export_path == "buildkitd-8371" and "127.0.0.1:8371" in s.export_detail


def test_the_environment_beats_the_file_and_the_flag_beats_both(tmp_path):
    config(tmp_path, "global: {buildkit_host: 'tcp://bk:8372'}\n")
    s = ev(tmp_path, {"EARTHLY_BUILDKIT_HOST": "docker-container://earthly-buildkitd"})
    assert s.buildkit_local and s.buildkit_host.source == "EARTHLY_BUILDKIT_HOST (environment)"
    (tmp_path / ".env").write_text("EARTHLY_BUILDKIT_HOST=tcp://127.0.0.1:8372\n")
    s = ev(tmp_path)
    assert s.buildkit_local and s.buildkit_host.value == "tcp://127.0.0.1:8372" and ".env" in s.buildkit_host.source
    s = ev(tmp_path, {"EARTHLY_BUILDKIT_HOST": "tcp://127.0.0.1:8372"}, flags=["--buildkit-host", "tcp://far:8372"])
    assert not s.buildkit_local and s.buildkit_host.source == "--buildkit-host flag"
    s = ev(tmp_path, flags=["--buildkit-host=tcp://far:8372"])
    assert s.buildkit_host.value == "tcp://far:8372"


def test_earthly_config_names_the_file(tmp_path):
    other = tmp_path / "ci-config.yml"
    other.write_text("global:\n  buildkit_host: tcp://ci-bk:8372\n")
    config(tmp_path, "global: {buildkit_host: 'tcp://bk:8372'}\n")
    s = ev(tmp_path, {"EARTHLY_CONFIG": str(other)})
    assert s.buildkit_host.value == "tcp://ci-bk:8372"


@pytest.mark.parametrize("text,why", [
    ("global: {buildkit_host: 'tcp://bk:8372'\n", "not valid YAML"),
    ("global:\n  buildkit_host: a\n  buildkit_host: b\n", "not valid YAML"),  # yaml.v3: key already defined
    ("global: [buildkit_host]\n", "not a mapping"),
    ("- global\n", "not a mapping"),
    ("global:\n  buildkit_host: [tcp://bk:8372]\n", "not a string"),
])
def test_a_config_earthly_would_refuse_is_an_invalid_setting(tmp_path, text, why):
    path = config(tmp_path, text)
    s = ev(tmp_path)
    assert s.export_path == "invalid"
    assert any(why in item and "failed to parse YAML config" in item and str(path) in item for item in s.invalid)


def test_null_and_unknown_keys_keep_earthlys_defaults(tmp_path):
    config(tmp_path, "global:\n  local_registry_host:\n  some_future_key: {a: 1}\n  cni_mtu: 1400\n")
    values, error = read_global_config(tmp_path / ".earthly" / "config.yml")
    assert error is None and values == {"cni_mtu": "1400"}
    s = ev(tmp_path, OFF)
    assert s.local_registry_host.value == "tcp://127.0.0.1:8371" and s.export_path == "buildkitd-8371"


def test_scalars_reach_string_fields_as_text(tmp_path):
    path = config(tmp_path, "global: {container_frontend: docker-shell, tls_enabled: false, buildkit_host: yes}\n")
    values, error = read_global_config(path)
    # YAML 1.2 (yaml.v3 into a string field): `yes` is the text yes, `false` a boolean spelled false.
    assert error is None and values == {"container_frontend": "docker-shell", "tls_enabled": "false",
                                        "buildkit_host": "yes"}


def test_empty_missing_fifo_and_oversized_files(tmp_path):
    path = config(tmp_path, "")
    assert read_global_config(path) == ({}, None)
    assert read_global_config(tmp_path / "nope.yml") == ({}, None)
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    values, error = read_global_config(fifo)  # must not block on the FIFO
    assert values == {} and "not a regular file" in error
    big = tmp_path / "big.yml"
    big.write_text("global:\n" + "  # padding\n" * 40000)
    values, error = read_global_config(big)
    assert values == {} and "too big" in error


def test_ed140_through_the_cli_reads_a_flow_style_config(tmp_path):
    """The whole path: a real HOME with a flow-style config.yml, `diagnose --only ED140`, the JSON report."""
    config(tmp_path, "global: {buildkit_host: 'tcp://bk:8372'}\n")
    env = {"HOME": str(tmp_path), "PATH": "/nonexistent", "NO_COLOR": "1", "COLUMNS": "100",
           "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true"}
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(build_app(), ["diagnose", "--only", "ED140", "--format", "json"], env=env)
    finally:
        os.chdir(old)
    (finding,) = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "ED140"]
    facts = {e["fact"]: e for e in finding["evidence"]}
    assert facts["export_path"]["value"] == "tar", finding["summary"]
    assert "remote BuildKit" in json.dumps(finding)
