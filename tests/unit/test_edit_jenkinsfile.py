"""The Jenkinsfile editor: what it edits, what it leaves alone, and what it refuses (with the line)."""

from __future__ import annotations

import pytest

from earthly_doctor.remedies.edit import jenkinsfile as J
from earthly_doctor.remedies.edit.groovy import Tree
from earthly_doctor.remedies.edit.text import EditRefused

KEY = "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY"


def declarative(agent: str, steps: str = "sh 'earthly +build'") -> str:
    return f"pipeline {{\n    agent {{\n{agent}\n    }}\n    stages {{\n        stage('Build') {{\n            steps {{\n                {steps}\n            }}\n        }}\n    }}\n}}\n"


@pytest.mark.parametrize(
    "text,line,words",
    [
        (declarative("        docker {\n            image 'x'\n            args dockerArgs\n        }"), 5, "not a plain string"),
        (declarative("        docker {\n            image 'x'\n            args '--network mynet'\n        }"), 5, "--network mynet"),
        ("node {\n  docker.image('x').inside(insideArgs) {\n    sh 'earthly +a'\n  }\n}\n", 2, "expression"),
        ("node {\n  docker.image('x').inside('--net=container:abc') {\n    sh 'earthly +a'\n  }\n}\n", 2, "container:abc"),
        ("node {\n  withDockerContainer(image: 'x', args: someArgs) {\n    sh 'earthly +a'\n  }\n}\n", 2, "not a plain string"),
    ],
)
def test_host_network_refusals_name_the_line(text, line, words):
    with pytest.raises(EditRefused) as info:
        J.edit_host_network(text)
    assert info.value.line == line
    assert words in info.value.reason


@pytest.mark.parametrize(
    "text,line,words",
    [
        ("pipeline {\n  agent any\n  environment { A = 'b' }\n  stages { stage('x') { steps { sh 'earthly +x' } } }\n}\n", 3, "one line"),
        ("pipeline {\n  environment {\n    EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY = params.DISABLE\n  }\n  stages {}\n}\n", 3, "expression"),
        ("node { sh 'earthly +x' }\n", 1, "one line"),
        ("pipeline {\n  stages {\n    stage('x') {\n      steps {\n        sh 'earthly +x\n      }\n    }\n  }\n}\n", 5, "never closed"),
        ("pipeline {\n  stages {\n    stage('x') {\n  }\n", 2, "never closed"),
        ("pipeline {\n  stages {}\n}\n}\n", 4, "closes nothing"),
        ("echo 'hello'\n", 1, "no `pipeline {}` or `node {}`"),
        ("pipeline {\n  stages { stage('a') { steps { sh 'earthly +x' } } }\n}\n", 1, "no stage named 'b'"),
    ],
)
def test_disable_proxy_refusals_name_the_line(text, line, words):
    stage = "b" if "stage('a')" in text else None
    with pytest.raises(EditRefused) as info:
        J.edit_disable_proxy(text, stage=stage)
    assert info.value.line == line
    assert words in info.value.reason


def test_existing_false_value_is_turned_true_and_gstring_quotes_kept():
    text = 'pipeline {\n  environment {\n    EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY = "false"\n  }\n  stages {}\n}\n'
    out = J.edit_disable_proxy(text)
    assert 'EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY = "true"' in out.text
    assert J.edit_disable_proxy(out.text).already


def test_bridge_network_is_replaced_and_host_is_left_alone():
    text = declarative("        docker {\n            image 'x'\n            args '--network=bridge -u 0:0'\n        }")
    out = J.edit_host_network(text)
    assert "args '--network=host -u 0:0'" in out.text
    same = J.edit_host_network(out.text)
    assert same.text == out.text and same.already and not same.changes


def test_only_the_stage_that_runs_earthly_gets_host_network():
    text = (
        "pipeline {\n  agent none\n  stages {\n"
        "    stage('Test') {\n      agent { docker { image 'maven'; args '-v m2:/root/.m2' } }\n      steps { sh 'mvn test' }\n    }\n"
        "    stage('Image') {\n      agent { docker { image 'earthly/earthly' } }\n      steps { sh 'earthly +image' }\n    }\n"
        "  }\n}\n"
    )
    out = J.edit_host_network(text)
    assert "args '-v m2:/root/.m2'" in out.text  # maven untouched
    assert "docker { image 'earthly/earthly'; args '--network host' }" in out.text


def test_inside_without_arguments_and_with_empty_parentheses():
    text = "node {\n  docker.image('a').inside {\n    sh 'earthly +a'\n  }\n  docker.image('b').inside() {\n    sh 'earthly +b'\n  }\n}\n"
    out = J.edit_host_network(text)
    assert ".inside('--network host') {" in out.text
    assert ".inside('--network host') {\n    sh 'earthly +b'" in out.text
    assert J.edit_host_network(out.text).text == out.text


def test_with_docker_container_positional_image_becomes_named():
    text = "node {\n  withDockerContainer('earthly/earthly:v0.8.15') {\n    sh 'earthly +a'\n  }\n}\n"
    out = J.edit_host_network(text)
    assert "withDockerContainer(image: 'earthly/earthly:v0.8.15', args: '--network host') {" in out.text


def test_comments_and_strings_that_look_like_code_are_not_edited():
    text = (
        "// agent { docker { args '-v x' } }\n/* environment { A = 'b' } */\npipeline {\n"
        "  agent { docker { image 'earthly/earthly'\n    args '-v /s:/s' } }\n"
        "  stages { stage('a') { steps { echo 'pipeline { environment { } }'\n sh 'earthly +x' } } }\n}\n"
    )
    out = J.edit_host_network(text)
    assert out.text.startswith("// agent { docker { args '-v x' } }\n/* environment { A = 'b' } */\n")
    assert "args '--network host -v /s:/s'" in out.text
    assert "echo 'pipeline { environment { } }'" in out.text


def test_gstring_interpolation_with_nested_quotes_and_braces_lexes():
    tree = Tree('pipeline { stages { stage("x") { steps { sh "earthly +a --V=${params.V ?: "d}{"}" } } } }\n')
    assert [tree.blocks[b].name for b in range(len(tree.blocks))] == ["pipeline", "stages", "stage", "steps"]


def test_earthbuild_spelling_when_only_earth_is_used():
    text = "node {\n  sh 'earth +build'\n}\n"
    # `earth` was also old Earthly's name, which reads only the EARTHLY_ spelling: both are set, one line each.
    head = "node {\n  env.EARTH_DISABLE_REMOTE_REGISTRY_PROXY = 'true'\n"
    assert J.edit_disable_proxy(text).text == head + f"  env.{KEY} = 'true'\n  sh 'earth +build'\n}}\n"


def test_scripted_multiline_strings_are_not_reindented():
    text = "node {\n    sh '''\nearthly +a\ncat <<EOF\nx\nEOF\n'''\n}\n"
    out = J.edit_disable_proxy(text).text
    assert out == text.replace("node {\n", f"node {{\n    env.{KEY} = 'true'\n")  # one line added, none re-indented


def test_flag_style_without_earthly_steps_falls_back_to_the_environment():
    text = "pipeline {\n    agent any\n    stages {\n        stage('a') { steps { earthlyBuild() } }\n    }\n}\n"
    out = J.edit_disable_proxy(text, style="flag")
    assert f"{KEY} = 'true'" in out.text and out.notes


# --- found by feeding the editor Jenkinsfiles shaped like real projects' ------------------------------------


def test_sh_with_named_arguments_and_no_parentheses_is_an_earthly_step():
    text = declarative(
        "        docker {\n            image 'x'\n        }",
        "sh label: 'image', returnStatus: true,\n                   script: \"earthly +image --V=${env.V}\"",
    )
    flagged = J.edit_disable_proxy(text, style="flag")
    assert 'script: "earthly --disable-remote-registry-proxy +image --V=${env.V}"' in flagged.text
    assert J.edit_disable_proxy(flagged.text, style="flag").text == flagged.text
    host = J.edit_host_network(text)
    assert not any("no earthly command is visible" in n for n in host.notes)


@pytest.mark.parametrize("call", ["sh label: 'x'", "sh label: foo(1, 2)", "foo script: 'earthly +x'", "sh label: [a: 1].x()"])
def test_named_argument_calls_without_a_script_string_are_not_steps(call):
    tree = Tree(f"node {{\n  {call}\n  sh 'echo'\n}}\n")
    assert [tree.toks[i].body for i in tree.call_strings({"sh"})] == ["echo"]


def test_new_environment_block_goes_above_the_comment_that_describes_stages():
    text = "pipeline {\n    agent any\n\n    // Build and push.\n    // Needs the socket.\n    stages {\n        stage('B') {\n            steps {\n                sh 'earthly +x'\n            }\n        }\n    }\n}\n"
    out = J.edit_disable_proxy(text).text
    assert f"    agent any\n\n    environment {{\n        {KEY} = 'true'\n    }}\n    // Build and push.\n" in out


def test_digest_pinned_old_image_is_refused_not_retagged():
    text = "node {\n  docker.image('earthly/earthly:v0.8.1@sha256:0123abcd').inside {\n    sh 'earthly +x'\n  }\n}\n"
    with pytest.raises(EditRefused) as info:
        J.edit_image(text)
    assert info.value.line == 2 and "digest" in info.value.reason


def test_host_network_looks_at_each_block_once_for_many_earthly_stages(monkeypatch):
    """A generated pipeline with thousands of stages took 20 s: every step re-scanned the `stages` block's children."""
    stages = "".join(f"    stage('s{i}') {{ steps {{ sh 'earthly +t{i}' }} }}\n" for i in range(2000))
    text = f"pipeline {{\n  agent {{ docker {{ image 'x' }} }}\n  stages {{\n{stages}  }}\n}}\n"
    calls = []
    original = Tree.child
    monkeypatch.setattr(Tree, "child", lambda self, b, name: calls.append(b) or original(self, b, name))
    out = J.edit_host_network(text)
    assert "args '--network host'" in out.text
    assert len(calls) <= len(set(calls)) + 10


def test_scripted_only_the_nodes_that_run_earthly_get_with_env():
    text = "node('windows') {\n    bat 'build.cmd'\n}\nnode('docker') {\n    sh 'earthly +image'\n}\n"
    out = J.edit_disable_proxy(text)
    windows = "node('windows') {\n    bat 'build.cmd'\n}\n"
    assert out.text == windows + f"node('docker') {{\n    env.{KEY} = 'true'\n    sh 'earthly +image'\n}}\n"
    assert J.edit_disable_proxy(out.text).text == out.text
    unknown = "node('a') {\n    build()\n}\nnode('b') {\n    deploy()\n}\n"
    assert J.edit_disable_proxy(unknown).text.count(f"env.{KEY} = 'true'") == 2


def test_a_false_in_a_stage_environment_is_changed_too_because_it_overrides_the_pipeline():
    text = ("pipeline {\n    agent any\n    stages {\n        stage('Build') {\n            environment {\n"
            f"                {KEY} = 'false'\n            }}\n            steps {{\n                sh 'earthly +all'\n"
            "            }\n        }\n    }\n}\n")
    out = J.edit_disable_proxy(text)
    assert f"                {KEY} = 'true'\n" in out.text
    assert f"    environment {{\n        {KEY} = 'true'\n    }}\n    stages" in out.text
    assert any("overrides" in c and "line 6" in c for c in out.changes)
    again = J.edit_disable_proxy(out.text)
    assert again.text == out.text and not again.changes
    with pytest.raises(EditRefused) as info:
        J.edit_disable_proxy(text.replace("'false'", "params.PROXY_OFF"))
    assert info.value.line == 6


def test_a_false_in_a_scripted_with_env_is_changed_not_wrapped_around():
    text = f"node {{\n    withEnv(['A=1', '{KEY}=false']) {{\n        sh 'earthly +x'\n    }}\n}}\n"
    out = J.edit_disable_proxy(text)
    assert out.text == text.replace("=false", "=true")
    again = J.edit_disable_proxy(out.text)
    assert again.text == out.text and again.already
    with pytest.raises(EditRefused):
        J.edit_disable_proxy(f'node {{\n    withEnv(["{KEY}=${{params.X}}"]) {{\n        sh "earthly +x"\n    }}\n}}\n')


def test_scripted_pod_template_gets_the_pod_spec_note_not_the_docker_cloud_one():
    text = "podTemplate(yaml: '''\nspec:\n  containers:\n  - name: earthly\n''') {\n    node(POD_LABEL) {\n        container('earthly') {\n            sh 'earthly +all'\n        }\n    }\n}\n"
    out = J.edit_host_network(text)
    assert out.text == text and not out.changes
    assert len(out.notes) == 1 and out.notes[0].startswith("line 7: earthly runs in container(")
    assert "\n    hostNetwork: true" in out.notes[0] and "\\n" not in out.notes[0]  # a real newline, not backslash-n


def test_stage_option_in_a_scripted_pipeline_wraps_that_stage_only():
    text = "node('docker') {\n    stage('Test') {\n        sh 'make test'\n    }\n    stage('Image') {\n        sh 'earthly +image'\n    }\n}\n"
    out = J.edit_disable_proxy(text, stage="Image")
    assert out.text == text.replace(
        "    stage('Image') {\n        sh 'earthly +image'\n    }\n",
        f"    stage('Image') {{\n        withEnv(['{KEY}=true']) {{\n            sh 'earthly +image'\n        }}\n    }}\n",
    )
    assert out.changes == [f"line 6: wrapped the stage body in withEnv(['{KEY}=true'])"]
    assert J.edit_disable_proxy(out.text, stage="Image").text == out.text
    with pytest.raises(EditRefused, match="no stage named 'Deploy'"):
        J.edit_disable_proxy(text, stage="Deploy")


def test_host_network_finds_the_agent_of_an_earthly_wrapper_script():
    """`./earthly.sh +all` runs earthly: only its stage's docker agent needs the host network, not the linter's."""
    text = ("pipeline {\n    agent none\n    stages {\n        stage('Lint') {\n            agent { docker { image 'golangci/golangci-lint' } }\n"
            "            steps {\n                sh 'golangci-lint run'\n            }\n        }\n        stage('Build') {\n"
            "            agent { docker { image 'earthly/earthly:v0.8.15' } }\n            steps {\n                sh './earthly.sh --ci +all'\n"
            "            }\n        }\n    }\n}\n")
    out = J.edit_host_network(text)
    assert out.text == text.replace("image 'earthly/earthly:v0.8.15' }", "image 'earthly/earthly:v0.8.15'; args '--network host' }")
    assert not out.notes


def test_disable_proxy_passes_the_variable_to_a_docker_run_earthly_container():
    """The job's environment stops at `docker run`: the container gets -e, and an environment block only when
    earthly also runs directly in a step."""
    run = "sh 'docker run --rm -v /var/run/docker.sock:/var/run/docker.sock earthly/earthly:v0.8.1 +image'"
    only_run = declarative("        label 'docker'", run)
    out = J.edit_disable_proxy(only_run)
    assert out.text == only_run.replace("docker run --rm", f"docker run -e {KEY}=true --rm")
    both = declarative("        label 'docker'", run + "\n                sh 'earthly +test'")
    out = J.edit_disable_proxy(both)
    assert f"docker run -e {KEY}=true --rm" in out.text and f"    environment {{\n        {KEY} = 'true'\n    }}\n" in out.text
    assert J.edit_disable_proxy(out.text).text == out.text



def _pipeline(stages: str, agent: str = "any") -> str:
    """A declarative pipeline around stage blocks given as `name: step` lines (four-space indentation)."""
    body = "".join(
        f"        stage('{name}') {{\n            steps {{\n                {step}\n            }}\n        }}\n"
        for name, step in (line.split(": ", 1) for line in stages.strip().splitlines())
    )
    return f"pipeline {{\n    agent {agent}\n    stages {{\n{body}    }}\n}}\n"


def test_flag_style_with_a_stage_edits_only_that_stage():
    """Issue 11: `--style flag --stage X` put the flag on other stages' sh steps too."""
    text = _pipeline("Lint: sh 'earthly +lint'\nImage: sh 'earthly --push +image'")
    out = J.edit_disable_proxy(text, style="flag", stage="Image")
    assert out.text == text.replace("earthly --push", "earthly --disable-remote-registry-proxy --push")
    assert out.changes == ["line 11: added --disable-remote-registry-proxy before the target"]


def test_earth_in_a_multi_line_sh_call_with_continuations_is_found():
    """Issue 11: `FORCE_COLOR=1 \\` then `earth \\` in a multi-line `sh(...)` is an earth call; both spellings set."""
    quotes = "'" * 3
    text = f"node {{\n    sh({quotes}\n        FORCE_COLOR=1 \\\n        earth \\\n        +all\n    {quotes})\n}}\n"
    out = J.edit_disable_proxy(text, style="flag")
    assert "        earth --disable-remote-registry-proxy \\\n" in out.text
    lines = J.edit_disable_proxy(text).text.splitlines()
    assert lines[1:3] == ["    env.EARTH_DISABLE_REMOTE_REGISTRY_PROXY = 'true'", f"    env.{KEY} = 'true'"]
    assert lines[3] == f"    sh({quotes}"


def test_host_network_refuses_when_earthly_runs_on_the_node_and_leaves_the_deploy_container_alone():
    """Issue 11: with `agent any`, the deploy's `docker run -p 3000:3000 app` got --network host (-p then ignored)."""
    text = _pipeline("Build: sh 'earthly --ci +docker'\nDeploy: sh 'docker run -d -p 3000:3000 app'")
    with pytest.raises(EditRefused) as info:
        J.edit_host_network(text)
    assert info.value.line == 6 and "runs on the node (agent any, line 2)" in info.value.reason
    assert "use disable-proxy" in info.value.reason


def test_host_network_edits_the_earthly_docker_run_not_the_agent_or_the_other_runs():
    earthly = "sh 'docker run --rm -v /var/run/docker.sock:/var/run/docker.sock earthly/earthly:v0.8.15 +target'"
    agent = "{ docker { image 'docker:27' } }"
    text = _pipeline(f"Build: {earthly}\nServe: sh 'docker run -d -p 3000:3000 app'", agent=agent)
    out = J.edit_host_network(text)
    assert out.text == text.replace("docker run --rm", "docker run --network host --rm")
    proxy = J.edit_disable_proxy(text)
    assert proxy.text == text.replace("docker run --rm", f"docker run -e {KEY}=true --rm")


def test_host_network_on_a_file_without_earthly_refuses():
    text = _pipeline("Test: sh 'npm test'", agent="{ docker { image 'node:20' } }")
    with pytest.raises(EditRefused, match="no sh step runs earthly"):
        J.edit_host_network(text)


def test_a_new_environment_block_follows_allman_braces():
    lines = _pipeline("b: sh 'earthly +b'").splitlines(keepends=True)
    allman = []  # each opening brace on its own line, at the indentation of the line it opens
    for line in lines:
        if line.rstrip().endswith(" {"):
            indent = line[: len(line) - len(line.lstrip())]
            allman += [line.rstrip()[:-2] + "\n", indent + "{\n"]
        else:
            allman.append(line)
    text = "".join(allman)
    assert "    stages\n    {\n" in text
    out = J.edit_disable_proxy(text)
    block = f"    environment\n    {{\n        {KEY} = 'true'\n    }}\n"
    assert out.text == text.replace("    stages\n", block + "    stages\n")


def test_earthly_in_a_function_is_not_pinned_on_an_agent_it_may_not_run_in():
    """A `def build() { sh 'earthly …' }` runs wherever it is called: host-network cannot tell which container."""
    text = "def build() {\n    sh 'earthly +all'\n}\n\n" + _pipeline("Build: build()", agent="{ docker { image 'node:20' } }")
    with pytest.raises(EditRefused) as info:
        J.edit_host_network(text)
    assert info.value.line == 2 and "in build() (line 1), on whatever agent calls it" in info.value.reason


@pytest.mark.parametrize(
    "agent,earthly",
    [
        ("{ docker { image 'earthly/earthly:v0.8.15' } }", True),
        ("{ docker { image 'node:20' } }", False),
    ],
)
def test_a_container_of_the_earthly_image_runs_earthly_even_when_its_steps_hide_it(agent: str, earthly: bool):
    """`./ci/build.sh` in a container started from earthly/earthly: that container is the one to change."""
    text = _pipeline("Build: sh './ci/build.sh'", agent=agent)
    if earthly:
        assert J.edit_host_network(text).text == text.replace("' } }", "'; args '--network host' } }")
    else:
        with pytest.raises(EditRefused, match="no sh step runs earthly"):
            J.edit_host_network(text)


def test_the_image_of_each_kind_of_container_is_read():
    text = ("node {\n    docker.image('earthly/earthly:v0.8.15').inside('-u 0') {\n        sh 'ls'\n    }\n"
            "    withDockerContainer(image: 'ghcr.io/earthbuild/earthbuild:v0.8', args: '-u 0') {\n        sh 'ls'\n    }\n"
            "    docker.image(\"${img}\").inside {\n        sh 'ls'\n    }\n}\n")
    out = J.edit_host_network(text)
    assert out.text.count("--network host") == 2 and "inside('--network host -u 0')" in out.text
    assert "args: '--network host -u 0'" in out.text and ".inside {" in out.text  # an expression image stays
