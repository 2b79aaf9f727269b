// The example Jenkinsfiles (examples/jenkins/) run against the stub steps, each on an agent like the one its header
// states: the library at a release tag (wheels.txt with hashes), Python where the example says there is one, and
// the doctor image where there is none (earthly/earthly has a docker CLI and no Python).

File examples = new File(new File(binding.hasVariable('exampleRoot') ? exampleRoot : '.'), 'examples/jenkins')

// earthly in the stand-in fails like Earthly does unless the fix is in place (proxy disabled, or host network).
def earthly = { h ->
    h.onSh('earthly --ci +image', { String script ->
        Map agent = h.calls('pipeline.agent') ? h.calls('pipeline.agent')[0].args : [:]
        String args = agent?.docker?.args ?: ''
        boolean fixed = h.env.EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY == 'true' || args.contains('--network host')
        if (!fixed && script.contains('tee earthly.log')) {
            h.file('earthly.log').text = 'dial tcp 127.0.0.1:35137: connect: connection refused\n'
        }
        return fixed ? 0 : 1
    }, 'Error: pull ping error: … dial tcp 127.0.0.1:35137: connect: connection refused')
}

def jenkinsfile = { String name -> new File(examples, name) }

/** What the example's header says about its agent: the library tag and the agent's Python. */
def header = { String name -> jenkinsfile(name).text }

test('every example states its agent requirements and loads a pinned library (or pins the index version)') { h ->
    List names = examples.listFiles().findAll { it.name.endsWith('.Jenkinsfile') }*.name.sort()
    assert names.size() == 6
    for (String name in names) {
        String text = header(name)
        assert text.contains('Agent requirements:'): name
        boolean tag = text =~ /@Library\('earthly-doctor@v\d+\.\d+\.\d+'\)/
        boolean pinned = text.contains("install: 'index', version: '")
        assert tag || pinned: "${name}: neither a release tag nor a pinned index version"
        if (text.contains("image 'earthly/earthly")) {
            assert text.contains('no Python'): "${name}: earthly/earthly has no Python; say how the doctor runs there"
        }
    }
}

test('post-failure: a failed earthly stage runs earthlyDoctor(triage: true, trusted: true) from the release wheels') { h ->
    earthly(h)
    h.fakeRelease('0.1.0')
    h.buildLog = ['+ earthly --ci +image', 'dial tcp 127.0.0.1:35137: connect: connection refused']
    h.onSh('-m venv', 0, '')
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    assert h.runJenkinsfile(jenkinsfile('post-failure.Jenkinsfile')) == 'FAILURE'
    assert h.steps().containsAll(['junit', 'recordIssues', 'archiveArtifacts'])
    assert h.calls('sh')*.args*.label.findAll { it } == ['earthly-doctor: python?', 'earthly-doctor: install',
                                                          'earthly-doctor: diagnose', 'earthly-doctor: triage']
    assert h.calls('sh')[2].args.script.contains("'.earthly-doctor/wheels/earthly_doctor-0.1.0-py3-none-any.whl'")
    assert h.rawBuildRead
    assert h.currentBuild.result == 'FAILURE'  // unstable never improves a failed build
}

test('docker-agent-failing: earthly/earthly has no Python, so the doctor image diagnoses the agent container') { h ->
    earthly(h)
    h.fakeRelease('0.1.0')
    h.pythonAnswer = 'no python3 on this agent'
    h.dockerAnswer = 'ok'
    h.fakeImage(~/docker create/, 1, 'failing')
    assert h.runJenkinsfile(jenkinsfile('docker-agent-failing.Jenkinsfile')) == 'FAILURE'
    Map docker = h.call('pipeline.agent').args.docker
    assert docker.image == 'earthly/earthly:v0.8.1' && !docker.args.contains('--network host')
    List<String> scripts = h.calls('sh')*.args*.script
    assert !scripts.any { it.contains('pip install') }
    String run = h.calls('sh').find { it.args.label == 'earthly-doctor: diagnose' }.args.script
    assert run.contains('ns="--network container:$self --pid container:$self -v /var/run/docker.sock:/var/run/docker.sock"')
    assert run.contains("'earthly-doctor:0.1.0' 'diagnose' '--timeout' '10'")
    String triage = h.calls('sh').find { it.args.label == 'earthly-doctor: triage' }.args.script
    assert triage.contains("docker cp 'earthly.log' \"\$ctr:/tmp/earthly-doctor-input.log\"")
    assert h.consoleText().contains('earthly-doctor: no usable Python here; running the image earthly-doctor:0.1.0')
    assert h.call('recordIssues').args.enabledForFailure == true
    assert h.currentBuild.description.startsWith('earthly-doctor: proxy-unreachable-bridge-container (proven)')
}

test('docker-agent-fixed: the same build passes and the doctor never runs') { h ->
    earthly(h)
    assert h.runJenkinsfile(jenkinsfile('docker-agent-fixed.Jenkinsfile')) == 'SUCCESS'
    assert h.env.EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY == 'true'
    assert h.call('pipeline.agent').args.docker.args.contains('--network host')
    assert h.calls('sh').size() == 1 && h.calls('junit').isEmpty()
}

test('dind-tls: the docker:dind TLS variables and disable-proxy reach earthly, and the build passes') { h ->
    earthly(h)
    assert h.runJenkinsfile(jenkinsfile('dind-tls.Jenkinsfile')) == 'SUCCESS'
    assert h.env.DOCKER_HOST == 'tcp://docker:2376' && h.env.DOCKER_TLS_VERIFY == '1'
    assert h.env.DOCKER_CERT_PATH == '/certs/client'
    assert h.calls('sh').size() == 1 && h.calls('junit').isEmpty()
}

test('earthly-build: earthlyBuild installs the release wheels, runs the target and skips Push off main') { h ->
    h.env.BRANCH_NAME = 'feature/x'
    h.fakeRelease('0.1.0')
    h.onSh('-m venv', 0, '')
    h.onSh('run --help', 0, '')
    h.onSh("-- 'earthly' '--ci' '+image'", 0, '')
    assert h.runJenkinsfile(jenkinsfile('earthly-build.Jenkinsfile')) == 'SUCCESS'
    assert h.calls('stage')*.args == ['Image']
    assert h.calls('sh')*.args*.label == ['earthly-doctor: python?', 'earthly-doctor: install',
                                          'earthly-doctor: run available?', 'earthly +image']
    assert h.calls('timeout')*.args == [[time: 300, unit: 'SECONDS']]  // the install ran inside the time limit
}

test('scripted-docker-inside: tee keeps the status, the doctor (pinned from the index) triages the saved log, the error is rethrown') { h ->
    h.onSh('earthly --ci +image', 1, 'dial tcp 127.0.0.1:35137: connect: connection refused') { String script ->
        h.file('earthly.log').text = 'dial tcp 127.0.0.1:35137: connect: connection refused\n'
    }
    h.resources = new File(h.workspace, 'branch-without-wheels')
    h.onSh('-m venv', 0, '')
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    String failure = null
    try {
        h.runJenkinsfile(jenkinsfile('scripted-docker-inside.Jenkinsfile'))
    } catch (IOException e) {
        failure = e.message
    }
    assert failure == 'script returned exit code 1'
    assert h.call('docker.inside').args.image == 'registry.example/ci/earthly-python:0.8.1'
    assert h.calls('sh')[0].args.script.contains('echo $? > earthly.rc; } 2>&1 | tee earthly.log')
    assert h.calls('sh').find { it.args.label == 'earthly-doctor: install' }.args.script.contains("'earthly-doctor==0.1.0'")
    assert h.consoleText().contains('Earthly failed because: Earthly')
    assert h.consoleText().contains('try: disable-proxy, host-network, pinned-port')
}
