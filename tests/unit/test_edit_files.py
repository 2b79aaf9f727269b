"""Shell, .env, YAML config and Dockerfile editors: edits, idempotence, line endings, refusals."""

from __future__ import annotations

import pytest

from earthly_doctor.remedies.edit.dockerfile import edit_dockerfile_env
from earthly_doctor.remedies.edit.envfile import edit_env_disable_proxy
from earthly_doctor.remedies.edit.shell import (
    FLAG,
    add_flag,
    earthly_commands,
    edit_script_disable_proxy,
    edit_script_host_network,
)
from earthly_doctor.remedies.edit.text import EditRefused, Splicer
from earthly_doctor.remedies.edit.yaml_config import edit_local_registry_host


@pytest.mark.parametrize(
    "line,expected",
    [
        ("earthly +build", "earthly --disable-remote-registry-proxy +build"),
        ("cd x && earthly --ci +a", "cd x && earthly --disable-remote-registry-proxy --ci +a"),
        ("if true; then sudo -E earthly +a; fi", "if true; then sudo -E earthly --disable-remote-registry-proxy +a; fi"),
        ("VERSION=1 ./bin/earthly +a", "VERSION=1 ./bin/earthly --disable-remote-registry-proxy +a"),
        ("out=$(earthly ls)", "out=$(earthly ls)"),  # not a build
        ("earthly config global.cache_size_mb 100", "earthly config global.cache_size_mb 100"),
        ("echo earthly +a", "echo earthly +a"),  # an argument, not a command
        ("# earthly +a", "# earthly +a"),
        ("docker run -v x:y earthly/earthly:v0.8.15 +a", "docker run -v x:y earthly/earthly:v0.8.15 +a"),
        ("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true earthly +a", "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true earthly +a"),
        ("earthly --disable-remote-registry-proxy +a", "earthly --disable-remote-registry-proxy +a"),
    ],
)
def test_flag_goes_before_the_target_of_build_commands_only(line, expected):
    splicer = Splicer(line + "\n")
    add_flag(line + "\n", splicer)
    assert splicer.apply() == expected + "\n"


def test_continuation_lines_are_not_commands():
    text = "docker run --rm \\\n  earthly/earthly +a\n"
    assert earthly_commands(text) == []


def test_export_goes_after_shebang_comments_and_set_and_keeps_crlf():
    text = "#!/bin/sh\r\n# build\r\nset -e\r\n\r\nmake\r\n"
    out = edit_script_disable_proxy(text, style="env").text
    assert out == "#!/bin/sh\r\n# build\r\nset -e\r\nexport EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\r\n\r\nmake\r\n"
    assert edit_script_disable_proxy(out, style="env").already
    assert edit_script_disable_proxy(out, style="flag").text == out  # an export already disables it everywhere


def test_script_without_earthly_gets_an_export_even_in_flag_style():
    assert edit_script_disable_proxy("make all\n").text == "export EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\nmake all\n"


def test_docker_run_network():
    text = "docker run --rm earthly/earthly +a\ndocker run postgres\n"
    out = edit_script_host_network(text)
    assert out.text == "docker run --network host --rm earthly/earthly +a\ndocker run postgres\n"
    assert edit_script_host_network(out.text).already
    with pytest.raises(EditRefused) as info:
        edit_script_host_network("true\ndocker run --net=ci earthly/earthly +a\n")
    assert info.value.line == 2


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n"),
        ("A=1", "A=1\nEARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\n"),
        ("A=1\r\n", "A=1\r\nEARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\r\n"),
        ("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=0 # off\n", "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true # off\n"),
        ("export EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY='1'\n", "export EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY='1'\n"),
    ],
)
def test_env_file(text, expected):
    out = edit_env_disable_proxy(text)
    assert out.text == expected
    assert edit_env_disable_proxy(out.text).text == out.text


def test_env_file_earthbuild_spelling():
    assert edit_env_disable_proxy("", "EARTH_DISABLE_REMOTE_REGISTRY_PROXY").text == "EARTH_DISABLE_REMOTE_REGISTRY_PROXY=true\n"


def test_yaml_keeps_comments_order_quotes_and_crlf():
    text = "# mine\r\nglobal:\r\n    cache_size_mb: 10   # small\r\n    buildkit_image: \"x:y\"\r\ngit: {}\r\n"
    out = edit_local_registry_host(text).text
    assert out == (
        "# mine\r\nglobal:\r\n    cache_size_mb: 10   # small\r\n    buildkit_image: \"x:y\"\r\n"
        "    local_registry_host: 'tcp://127.0.0.1:8371'\r\ngit: {}\r\n"
    )
    assert edit_local_registry_host(out).already


@pytest.mark.parametrize(
    "text,line,words",
    [("global: [\n", 2, "not valid YAML"), ("- a\n", 1, "not a YAML mapping"), ("global: 3\n", 1, "not a mapping")],
)
def test_yaml_refusals(text, line, words):
    with pytest.raises(EditRefused) as info:
        edit_local_registry_host(text)
    assert info.value.line == line and words in info.value.reason


def test_dockerfile_env_in_final_stage_after_a_continued_from():
    text = "FROM a AS b\nRUN x\nFROM \\\n  debian:12\nRUN y\n"
    out = edit_dockerfile_env(text)
    assert out.text == "FROM a AS b\nRUN x\nFROM \\\n  debian:12\nENV EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\nRUN y\n"
    assert edit_dockerfile_env(out.text).already
    with pytest.raises(EditRefused):
        edit_dockerfile_env("RUN x\n")


def test_flag_constant():
    assert FLAG == "--disable-remote-registry-proxy"


KEY = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"


def test_disable_proxy_reaches_an_earthly_container_started_by_docker_run():
    """An `export` (or a Jenkins environment) never reaches `docker run … earthly/earthly`: pass it with -e."""
    text = "#!/bin/sh\nset -e\ndocker run --rm -v /var/run/docker.sock:/var/run/docker.sock \\\n  earthly/earthly:v0.8.1 +image\ndocker run postgres:16 true\n"
    for style in ("flag", "env"):
        out = edit_script_disable_proxy(text, style=style)
        assert out.text == text.replace("docker run --rm", f"docker run -e {KEY}=true --rm"), style
        again = edit_script_disable_proxy(out.text, style=style)
        assert again.text == out.text and again.already and not again.changes
    passthrough = edit_script_disable_proxy(f"docker run -e {KEY} earthly/earthly +a\n")
    assert passthrough.text == f"docker run -e {KEY}=true earthly/earthly +a\n"
    off = edit_script_disable_proxy(f"docker run --env={KEY}=false earthly/earthly +a\n")
    assert off.text == f"docker run --env={KEY}=true earthly/earthly +a\n"


def test_a_groovy_escaped_continuation_keeps_the_docker_run_together():
    r"""In a Jenkinsfile "…" body the shell's `\` line continuation is spelled `\\`; the options below it still count."""
    body = "docker run --rm \\\\\n    --network bridge \\\\\n    earthly/earthly:v0.8.1 +build\n"
    out = edit_script_host_network(body)
    assert out.text == body.replace("--network bridge", "--network host")
    assert edit_script_disable_proxy(body).text == body.replace("docker run --rm", f"docker run -e {KEY}=true --rm")


def test_env_file_the_last_assignment_wins_as_godotenv_reads_it():
    """Issue 11: an earlier true and a later false is not "already set": the later line is what Earthly sees."""
    text = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true\nA=1\nEARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=false\n"
    out = edit_env_disable_proxy(text)
    assert not out.already and out.changes == [
        "line 3: changed EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=false to EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true"
    ]
    assert out.text == text.replace("=false", "=true")
    flipped = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=false\nEARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=1\n"
    assert edit_env_disable_proxy(flipped).already == ["line 2: EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=1 is already set"]


def test_env_assignments_on_continuation_lines_before_earth_are_one_command():
    """`FORCE_COLOR=1 \\` then `earth \\` (namely/chief-of-state's Jenkinsfile) is one earth command."""
    body = "\n    FORCE_COLOR=1 \\\n    earth \\\n    -s JFROG_USERNAME \\\n    +all\n"
    (cmd,) = earthly_commands(body)
    assert cmd.binary == "earth" and cmd.assigns == "FORCE_COLOR=1 " and body[cmd.start:].startswith("earth \\")
    assert earthly_commands("echo \\\n  earthly +a\n") == []  # an argument of echo, not a command
    assert earthly_commands("# FORCE_COLOR=1 \\\nearthly +a\n") == []


def test_a_docker_run_of_an_earthly_image_with_a_target_is_the_earthly_run():
    """`docker run … earthly/earthly:v0.8.15 +target` is Earthly; the database and the app are not."""
    text = ("docker run -d -p 5432:5432 postgres:16\n"
            "docker run --rm -v earthly-tmp:/tmp/earthly \\\n  earthly/earthly:v0.8.15 +target\n"
            "docker run -d -p 3000:3000 app\n")
    out = edit_script_host_network(text)
    assert out.text == text.replace("docker run --rm", "docker run --network host --rm")
    with pytest.raises(EditRefused, match="no `docker run` of an earthly image"):
        edit_script_host_network("docker run -d -p 3000:3000 app\n")


@pytest.mark.parametrize(
    "run,earthly",
    [
        ("docker run earthly/earthly:v0.8.15 +t", True),
        ("docker run registry.example.com/ci/earthly:v0.8.15 +b", True),  # a mirror of the image
        ("docker run ghcr.io/earthbuild/earthbuild:v0.8 +x", True),
        ("docker run localhost:5000/earthly/earthly@sha256:abcd +x", True),
        ("docker run myimg earthly +x", True),  # another image, whose command is earthly
        ("docker run -v /opt/bin:/opt/bin:ro python:3 /opt/bin/earthly +img", True),  # the binary by its path
        ("docker run -v /opt/bin/earthly:/usr/bin/earthly python:3 make", False),
        ("docker run -v earthly-tmp:/tmp/earthly app", False),  # a volume named after earthly
        ("docker run -v $HOME/.earthly:/root/.earthly app", False),
        ("docker run acme/earthly-builder:1 make", False),
        ("docker run -d -p 3000:3000 app", False),
    ],
)
def test_which_docker_runs_run_earthly(run: str, earthly: bool):
    from earthly_doctor.remedies.edit.shell import is_earthly_run

    assert is_earthly_run(run) is earthly
