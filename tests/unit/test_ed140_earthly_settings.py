"""ED140: version, Go ParseBool semantics, .env never overriding, EARTH_ names, buildkit_host, local_registry_host, --ci."""

from __future__ import annotations

import os

import pytest

from earthly_doctor.checks.ed140_earthly_settings import EarthlySettingsCheck
from earthly_doctor.model import Status
from earthly_doctor.probes.earthly_settings import evaluate, is_local_buildkit, parse_version, port_offset
from tests.helpers.facts import make_ctx
from pathlib import Path

V = "earthly version v0.8.15 6e641c15d3b4d7dd396363b61d2381faa2658f3d linux/amd64; Debian 12"


def ev(env, tmp_path, **kw):
    return evaluate({"HOME": str(tmp_path), **env}, tmp_path, version_text=kw.pop("version", V), **kw)


def test_default_is_the_proxy_in_the_affected_range(tmp_path):
    s = ev({}, tmp_path)
    assert s.version == (0, 8, 15) and s.affected and s.export_path == "proxy"


@pytest.mark.parametrize("value,disabled", [("true", True), ("1", True), ("T", True), ("False", False), ("0", False)])
def test_go_parse_bool(tmp_path, value, disabled):
    s = ev({"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": value}, tmp_path)
    assert s.proxy_disabled.value is disabled


def test_set_but_empty_is_false_and_blocks_dotenv(tmp_path):
    (tmp_path / ".env").write_text("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n")
    s = ev({"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": ""}, tmp_path)
    assert s.proxy_disabled.value is False and "set but empty" in s.proxy_disabled.source
    assert s.export_path == "proxy"


def test_dotenv_applies_when_the_environment_has_nothing(tmp_path):
    (tmp_path / ".env").write_text("# ci\nexport EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY='true'\n")
    s = ev({}, tmp_path)
    assert s.proxy_disabled.value is True and str(tmp_path / ".env") in s.proxy_disabled.source
    assert s.export_path == "buildkitd-8371" and s.dotenv_used == ["EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"]


def test_invalid_value_makes_earthly_exit(tmp_path):
    s = ev({"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "yes"}, tmp_path)
    assert s.export_path == "invalid" and "could not parse" in s.invalid[0]
    f = EarthlySettingsCheck().run(make_ctx(earthly_settings=s))
    assert f.status == Status.FAIL


def test_earthbuild_reads_earth_first(tmp_path):
    s = ev({"EARTH_DISABLE_REMOTE_REGISTRY_PROXY": "true", "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "false"}, tmp_path, product="earthbuild")
    assert s.proxy_disabled.value is True and s.proxy_disabled.source.startswith("EARTH_")
    s = ev({"EARTH_DISABLE_REMOTE_REGISTRY_PROXY": "true"}, tmp_path)  # plain earthly ignores EARTH_
    assert s.proxy_disabled.value is False


def test_flag_before_the_target(tmp_path):
    s = ev({}, tmp_path, flags=["--disable-remote-registry-proxy"])
    assert s.proxy_disabled.value is True and s.proxy_disabled.source == "--disable-remote-registry-proxy flag"


def test_ci_means_no_export_unless_output(tmp_path):
    assert ev({"EARTHLY_CI": "true"}, tmp_path).export_path == "none"
    assert ev({}, tmp_path, flags=["--ci"]).export_path == "none"
    assert ev({"EARTHLY_CI": "true", "EARTHLY_OUTPUT": "true"}, tmp_path).export_path == "proxy"


def test_remote_buildkit_with_the_proxy_off_uses_tar(tmp_path):
    s = ev({"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true", "EARTHLY_BUILDKIT_HOST": "tcp://buildkit.corp:8372"}, tmp_path)
    assert not s.buildkit_local and s.export_path == "tar"


def test_config_file_buildkit_host_and_empty_local_registry(tmp_path):
    (tmp_path / ".earthly").mkdir()
    (tmp_path / ".earthly" / "config.yml").write_text("global:\n  buildkit_host: tcp://127.0.0.1:8372\n  local_registry_host: ''\ngit:\n  x: y\n")
    s = ev({"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "1"}, tmp_path)
    assert s.buildkit_local and s.local_registry_host.value == "" and s.export_path == "tar"


def test_old_versions_are_not_affected(tmp_path):
    s = ev({}, tmp_path, version="earthly version v0.7.23 abc linux/amd64")
    assert s.affected is False and s.export_path != "proxy"


def test_rules():
    assert is_local_buildkit("") and is_local_buildkit("docker-container://earthly-buildkitd")
    assert is_local_buildkit("tcp://localhost:8372") and is_local_buildkit("tcp://[::1]:8372")
    assert not is_local_buildkit("tcp://myhost:8372")
    assert port_offset("earthly") == 0 and 10 <= port_offset("earthly-ci") < 1010
    assert parse_version("earth version v0.8.17-rc1 abc") == (0, 8, 17)


def test_check_reports_the_image_hint(tmp_path):
    s = ev({"EARTHLY_IMAGE": "true"}, tmp_path)
    s.binary = "/usr/bin/earthly"
    f = EarthlySettingsCheck().run(make_ctx(earthly_settings=s))
    assert f.status == Status.PASS and "before v0.8.2" in f.summary and f.extra["export_path"] == "proxy"


def test_running_earthlys_are_evidence_but_this_environment_decides(tmp_path):
    """On a shared host a running earthly may be someone else's build: it is listed, never trusted."""
    here = ev({}, tmp_path)
    here.processes[4242] = ev({"EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY": "true"}, tmp_path)
    f = EarthlySettingsCheck().run(make_ctx(earthly_settings=here))
    assert f.extra["export_path"] == "proxy"
    assert f.fact("running:4242").startswith("buildkitd-8371")


def test_the_provider_runs_version_only_when_a_binary_is_on_path(tmp_path, monkeypatch):
    from earthly_doctor.probes import earthly_settings as probe
    from earthly_doctor.probes.providers import earthly_settings
    from tests.harness.dockerd import install_fake_earthly

    calls = []
    real = probe.run_version
    monkeypatch.setattr(probe, "run_version", lambda *a, **k: calls.append(a) or real(*a, **k))
    none = earthly_settings(make_ctx(env={"PATH": str(tmp_path / "empty"), "HOME": str(tmp_path)}, earthly_processes=[]))
    assert none.binary is None and none.version is None and calls == []
    install_fake_earthly(tmp_path / "bin", "earth")
    path = f"{tmp_path / 'bin'}:{os.environ['PATH']}"  # the stand-in's shebang needs python3
    found = earthly_settings(make_ctx(env={"PATH": path, "HOME": str(tmp_path)}, earthly_processes=[]))
    assert found.product == "earthbuild" and found.version == (0, 8, 15) and len(calls) == 1


def test_another_users_home_does_not_break_the_settings(tmp_path, unreadable_home):
    settings = evaluate({"HOME": str(unreadable_home)}, tmp_path)
    assert settings.export_path == "proxy"


def test_bundle_and_pinned_port_survive_no_home(no_home):
    """`bundle` was an internal error (exit 3) with HOME unset for a uid without a passwd entry."""
    from earthly_doctor.commands import bundle as bundle_cmd
    from earthly_doctor.remedies.pinned_port import config_path

    assert bundle_cmd._docker_config_path({}) is None
    assert bundle_cmd._earthly_config_paths({}) == [p for p in [Path("/etc/.earthly/config.yml")] if os.path.isfile(p)]
    assert config_path({}).name == "config.yml"


def test_bundle_and_pinned_port_survive_another_users_home(unreadable_home):
    from earthly_doctor.commands import bundle as bundle_cmd
    from earthly_doctor.remedies.pinned_port import config_path

    home = {"HOME": str(unreadable_home)}
    assert bundle_cmd._earthly_config_paths(home) == [p for p in [Path("/etc/.earthly/config.yml")] if os.path.isfile(p)]
    assert config_path(home) == unreadable_home / ".earthly" / "config.yml"
