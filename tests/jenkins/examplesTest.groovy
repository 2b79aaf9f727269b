// The example Jenkinsfiles (examples/jenkins/) run against the stub steps: the failure path reaches earthlyDoctor
// in post { failure }, and the fixed pipeline's build passes because the fix reaches earthly.

File examples = new File(new File(binding.hasVariable('exampleRoot') ? exampleRoot : '.'), 'examples/jenkins')

// earthly in the stand-in fails like Earthly does unless the fix is in place (proxy disabled, or host network).
def earthly = { h ->
    h.onSh('earthly --ci +image', { String script ->
        Map agent = h.calls('pipeline.agent') ? h.calls('pipeline.agent')[0].args : [:]
        String args = agent?.docker?.args ?: ''
        boolean fixed = h.env.EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY == 'true' || args.contains('--network host')
        return fixed ? 0 : 1
    }, 'Error: pull ping error: … dial tcp 127.0.0.1:35137: connect: connection refused')
}

def jenkinsfile = { String name -> new File(examples, name) }

test('post-failure: a failed earthly stage runs earthlyDoctor(triage: true) in post { failure }') { h ->
    earthly(h)
    h.buildLog = ['+ earthly --ci +image', 'dial tcp 127.0.0.1:35137: connect: connection refused']
    h.onSh('-m venv', 0, '')
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    assert h.runJenkinsfile(jenkinsfile('post-failure.Jenkinsfile')) == 'FAILURE'
    assert h.steps().containsAll(['junit', 'recordIssues', 'archiveArtifacts'])
    assert h.calls('sh')*.args*.label.findAll { it } == ['earthly-doctor: install', 'earthly-doctor: diagnose', 'earthly-doctor: triage']
    assert h.currentBuild.result == 'FAILURE'  // unstable never improves a failed build
}

test('docker-agent-failing: the bridge agent fails and the doctor publishes why') { h ->
    earthly(h)
    h.buildLog = ['dial tcp 127.0.0.1:35137: connect: connection refused']
    h.onSh('-m venv', 0, '')
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    assert h.runJenkinsfile(jenkinsfile('docker-agent-failing.Jenkinsfile')) == 'FAILURE'
    Map docker = h.call('pipeline.agent').args.docker
    assert docker.image == 'earthly/earthly:v0.8.15' && !docker.args.contains('--network host')
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

test('earthly-build: earthlyBuild runs the target and skips Push off main') { h ->
    h.env.BRANCH_NAME = 'feature/x'
    h.onSh('-m venv', 0, '')
    h.onSh('run --help', 0, '')
    h.onSh("-- 'earthly' '--ci' '+image'", 0, '')
    assert h.runJenkinsfile(jenkinsfile('earthly-build.Jenkinsfile')) == 'SUCCESS'
    assert h.calls('stage')*.args == ['Image']
    assert h.calls('sh')*.args*.label == ['earthly-doctor: install', 'earthly-doctor: run available?', 'earthly +image']
}

test('scripted-docker-inside: tee keeps the status, the doctor triages the saved log, the error is rethrown') { h ->
    h.onSh('earthly --ci +image', 1, 'dial tcp 127.0.0.1:35137: connect: connection refused') { String script ->
        h.file('earthly.log').text = 'dial tcp 127.0.0.1:35137: connect: connection refused\n'
    }
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
    assert h.call('docker.inside').args.image == 'earthly/earthly:v0.8.15'
    assert h.calls('sh')[0].args.script.contains('echo $? > earthly.rc; } 2>&1 | tee earthly.log')
    assert h.calls('sh').find { it.args.label == 'earthly-doctor: install' }.args.script.contains("'earthly-doctor==0.1.0'")
    assert h.consoleText().contains('Earthly failed because: Earthly')
    assert h.consoleText().contains('try: disable-proxy, host-network, pinned-port')
}
