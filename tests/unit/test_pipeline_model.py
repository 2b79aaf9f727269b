"""The pipeline model: where each sh/bat step runs and whether it runs earthly."""

from __future__ import annotations

from earthly_doctor.remedies.edit.groovy import Tree
from earthly_doctor.remedies.edit.pipeline_model import PipelineModel

DECLARATIVE = """\
pipeline {
    agent { label 'linux' }
    stages {
        stage('Node') {
            steps {
                sh 'earthly +a'
            }
        }
        stage('Docker') {
            agent { docker { image 'earthly/earthly:v0.8.15' } }
            steps {
                sh 'make'
                script {
                    docker.image('golang:1.22').inside {
                        sh 'go test ./...'
                    }
                }
            }
        }
        stage('Pod') {
            agent { kubernetes { yaml 'spec: {}' } }
            steps {
                container('earthly') {
                    sh '''
                        FORCE_COLOR=1 \\
                        earth +b
                    '''
                }
                sh 'docker run --rm earthly/earthly:v0.8.15 +c'
            }
        }
        stage('Files') {
            agent { dockerfile true }
            steps {
                bat 'earthly.exe +d'
                sh './earthly.sh +e'
            }
        }
    }
}
"""

SCRIPTED = """\
def build() {
    sh 'earthly +lib'
}
podTemplate(yaml: '') {
    node(POD_LABEL) {
        sh 'earthly +pod'
    }
}
node('any') {
    withDockerContainer(image: 'x') {
        sh 'earthly +wdc'
    }
    sh 'earthly +node'
}
"""


def where(text: str) -> list[tuple[str, str, bool]]:
    model = PipelineModel(Tree(text))
    return [(model.tree.toks[s.tok].body.split("+")[-1].strip(), s.runner.kind, s.runs_earthly) for s in model.steps]


def test_declarative_runners():
    assert where(DECLARATIVE) == [
        ("a", "node", True),
        ("make", "docker-agent", False),
        ("go test ./...", "inside", False),
        ("b", "container", True),  # `earth` after an assignment on a continued line
        ("c", "kubernetes-agent", True),  # a docker run of the earthly image: earthly runs in that new container
        ("d", "dockerfile-agent", True),  # Windows: bat and earthly.exe
        ("e", "dockerfile-agent", True),  # a wrapper script
    ]


def test_scripted_runners():
    assert where(SCRIPTED) == [
        ("lib", "function", True),
        ("pod", "node", True),  # node(POD_LABEL) inside a podTemplate: the innermost is the node block
        ("wdc", "withDockerContainer", True),
        ("node", "node", True),
    ]


def test_an_agent_of_the_earthly_image_is_an_earthly_container():
    model = PipelineModel(Tree(DECLARATIVE))
    images = [model.image_of(r) for r in model.earthly_image_runners()]
    assert images == ["earthly/earthly:v0.8.15"]
