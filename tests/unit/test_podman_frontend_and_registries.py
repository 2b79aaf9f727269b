"""Earthly's frontend choice (ED140), the Podman verdict rules, and the registries.conf editor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from earthly_doctor import verdict_podman
from earthly_doctor.model import Evidence, Finding, Status
from earthly_doctor.probes.earthly_settings import evaluate
from earthly_doctor.probes.frontend import pick
from earthly_doctor.remedies.edit.registries_conf import edit_insecure_loopback
from earthly_doctor.remedies.edit.text import EditRefused


def _bin(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_auto_picks_docker_first_then_podman(tmp_path):
    bin_dir = tmp_path / "bin"
    _bin(bin_dir, "podman", "#!/bin/sh\n")
    assert pick({"PATH": str(bin_dir)}, None, "default").name == "podman-shell"
    _bin(bin_dir, "docker", "\x7fELF" + "x" * 70000)  # a real CLI is a large binary
    chosen = pick({"PATH": str(bin_dir)}, "auto", "default")
    assert chosen.name == "docker-shell" and not chosen.docker_is_podman and chosen.proxy_in_play
    assert pick({"PATH": str(tmp_path / "empty")}, None, "default").name == "none"


def test_podman_docker_shim_still_means_the_docker_frontend(tmp_path):
    bin_dir = tmp_path / "bin"
    _bin(bin_dir, "docker", '#!/bin/sh\n[ -e /etc/containers/nodocker ] || echo "Emulate Docker CLI using podman."\n'
         'exec /usr/bin/podman "$@"\n')
    chosen = pick({"PATH": str(bin_dir)}, None, "default")
    assert chosen.name == "docker-shell" and chosen.docker_is_podman and "shim" in chosen.source


def test_a_docker_symlinked_to_podman_is_a_shim(tmp_path):
    bin_dir = tmp_path / "bin"
    real = _bin(tmp_path / "real", "podman", "\x7fELF" + "x" * 70000)
    bin_dir.mkdir()
    os.symlink(real, bin_dir / "docker")
    assert pick({"PATH": str(bin_dir)}, None, "default").docker_is_podman


def test_the_config_decides_and_the_podman_frontend_never_exports_through_the_proxy(tmp_path):
    home = tmp_path / "home"
    (home / ".earthly").mkdir(parents=True)
    (home / ".earthly" / "config.yml").write_text("global:\n  container_frontend: podman-shell\n")
    s = evaluate({"HOME": str(home), "PATH": ""}, tmp_path, version_text="earthly version v0.8.15")
    assert s.frontend.name == "podman-shell" and "config.yml" in s.frontend.source
    assert s.export_path == "buildkitd-8371" and "Registry proxy not supported on Podman" in s.export_detail
    assert "podman pull" in s.export_detail
    remote = evaluate({"HOME": str(home), "PATH": "", "EARTHLY_BUILDKIT_HOST": "tcp://bk:8372"}, tmp_path,
                      version_text="earthly version v0.8.15")
    assert remote.export_path == "tar" and "podman load" in remote.export_detail
    (home / ".earthly" / "config.yml").write_text("global:\n  container_frontend: docker-shell\n")
    assert evaluate({"HOME": str(home), "PATH": ""}, tmp_path).export_path == "proxy"


def _findings(engine: str, buildkit_local: bool | None) -> dict[str, Finding]:
    daemon = Finding("ED110", "t", Status.PASS, summary="s",
                     evidence=[Evidence("daemon_engine", engine, "x"), Evidence("daemon_flavour", "Podman (rootless)", "x")])
    settings = Finding("ED140", "t", Status.PASS, summary="s",
                       evidence=[Evidence("buildkit_local", buildkit_local, "x"), Evidence("export_path", "proxy", "x"),
                                 Evidence("container_frontend", "docker-shell", "x")])
    return {"ED110": daemon, "ED140": settings}


@pytest.mark.parametrize(("local", "expected"), [
    (True, ["podman-frontend", "podman-insecure-loopback"]),
    (False, ["disable-proxy", "podman-frontend", "podman-insecure-loopback"]),
])
def test_podman_ranking_offers_only_what_works(local, expected):
    by = _findings("podman", local)
    assert verdict_podman.rank(by) == expected
    verdict = verdict_podman.tls_only(by, [], {"tar", "buildkitd-8371", "none"})
    assert verdict.cause == "podman-loopback-not-insecure" and verdict.remedies == expected
    assert "Podman (rootless)" in verdict.summary and "daemon.json" not in verdict.summary


def test_proxy_unreachable_on_podman_drops_dockerd_advice_and_adds_the_frontend():
    by = _findings("podman", True)
    assert verdict_podman.adjust("proxy-unreachable-remote-daemon", ["disable-proxy", "daemon-no-proxy"], by) == [
        "disable-proxy", "podman-frontend"]
    docker = _findings("docker", True)
    assert verdict_podman.adjust("proxy-unreachable-remote-daemon", ["disable-proxy"], docker) == ["disable-proxy"]


def test_registries_conf_v2_is_appended_and_comments_are_kept():
    text = "# admin's notes\nunqualified-search-registries = [\"docker.io\"]  # keep\n"
    out = edit_insecure_loopback(text)
    assert out.text.startswith(text) and 'location = "127.0.0.1"' in out.text and "insecure = true" in out.text
    assert edit_insecure_loopback(out.text).already and not edit_insecure_loopback(out.text).changes


def test_registries_conf_existing_table_and_v1_format():
    existing = '[[registry]]\nlocation = "127.0.0.1"\nblocked = false\n'
    assert edit_insecure_loopback(existing).text == existing + "insecure = true\n"
    v1 = "[registries.insecure]\nregistries = []\n"
    assert 'registries = ["127.0.0.1"]' in edit_insecure_loopback(v1).text
    crlf = "# x\r\nunqualified-search-registries = []\r\n"
    assert "\r\n" in edit_insecure_loopback(crlf).text and "\n" not in edit_insecure_loopback(crlf).text.replace("\r\n", "")


def test_registries_conf_that_is_not_toml_is_refused():
    with pytest.raises(EditRefused):
        edit_insecure_loopback("[[registry]\nlocation = \n")
    with pytest.raises(EditRefused):
        edit_insecure_loopback("registry = 3\n")
