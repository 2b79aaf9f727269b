// Tests of vars/earthlyDoctor.groovy in the PipelineHarness (run by run.groovy). Each test gets a fresh harness `h`.
// Fixtures (FIXTURES_DIR/<sample>.<format>) are real reports rendered by earthly-doctor from tests/helpers/samples.py.

def neverFailsTheStage = { h ->
    assert !('error' in h.steps()): 'the step must never call error'
}

test('a diagnosed problem is published natively and marks the build unstable') { h ->
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    Map result = h.load('earthlyDoctor').call(install: 'none')

    Map sh = h.call('sh').args
    assert sh.label == 'earthly-doctor: diagnose'
    assert sh.returnStatus == true
    assert sh.script.contains("NO_COLOR=1 'earthly-doctor' diagnose --timeout 10 --format text --fail-on 'fail'")
    for (String out in ["json:earthly-doctor/diagnose.json", "junit:earthly-doctor/diagnose-junit.xml",
                        "warnings-ng:earthly-doctor/diagnose-issues.json", "sarif:earthly-doctor/diagnose.sarif",
                        "markdown:earthly-doctor/diagnose.md"]) {
        assert sh.script.contains("--output '${out}'")
    }
    assert h.call('junit').args == [testResults: 'earthly-doctor/*-junit.xml', allowEmptyResults: true,
                                    skipMarkingBuildUnstable: true, skipPublishingChecks: true]
    Map issues = h.call('recordIssues').args
    assert issues.enabledForFailure == true
    assert issues.tool == [tool: 'issues', pattern: 'earthly-doctor/*-issues.json', id: 'earthly-doctor', name: 'Earthly doctor']
    assert h.call('archiveArtifacts').args.artifacts == 'earthly-doctor/*.json, earthly-doctor/*.sarif, earthly-doctor/*.md'
    assert h.call('archiveArtifacts').args.allowEmptyArchive == true
    assert h.call('unstable').args.message.contains('proxy-unreachable-bridge-container')
    assert h.currentBuild.result == 'UNSTABLE'

    List order = h.steps().findAll { it in ['sh', 'junit', 'recordIssues', 'archiveArtifacts', 'unstable'] }
    assert order == ['sh', 'junit', 'recordIssues', 'archiveArtifacts', 'unstable']
    assert result.status == 'problem' && result.exitCode == 1
    assert result.cause == 'proxy-unreachable-bridge-container' && result.confidence == 'proven'
    assert result.remedies == ['disable-proxy', 'host-network', 'pinned-port']
    assert result.reports == ['earthly-doctor/diagnose.json']
    assert h.consoleText().contains('earthly-doctor: fix, best first: disable-proxy, host-network, pinned-port')
    assert h.file('earthly-doctor/diagnose-issues.json').text.contains('"issues"')
    neverFailsTheStage(h)
}

test('a healthy diagnosis publishes and leaves the build result alone') { h ->
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    Map result = h.load('earthlyDoctor').call(install: 'none')
    assert result.status == 'ok' && result.exitCode == 0 && result.cause == 'healthy'
    assert h.calls('unstable').isEmpty()
    assert h.currentBuild.result == null
    assert h.steps().containsAll(['junit', 'recordIssues', 'archiveArtifacts'])
    neverFailsTheStage(h)
}

test('unstable: false reports the problem without touching the result') { h ->
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    Map result = h.load('earthlyDoctor').call(install: 'none', unstable: false)
    assert result.status == 'problem'
    assert h.calls('unstable').isEmpty() && h.currentBuild.result == null
}

test('an internal error of the tool never fails the stage and is only unstable when asked') { h ->
    h.onSh(~/ diagnose /, 3, 'earthly-doctor: internal error: boom')
    Map result = h.load('earthlyDoctor').call(install: 'none')
    assert result.status == 'tool-error' && result.exitCode == 3 && result.cause == null
    assert h.calls('unstable').isEmpty()
    assert h.consoleText().contains('earthly-doctor diagnose could not finish (exit 3)')
    assert h.steps().contains('junit')  // allowEmptyResults: nothing to publish is not an error
    neverFailsTheStage(h)

    def h2 = h.getClass().newInstance(h.library, new File(h.workspace, 'again'), h.fixtures)
    h2.onSh(~/ diagnose /, 2, '')
    assert h2.load('earthlyDoctor').call(install: 'none', unstableOnToolError: true).status == 'tool-error'
    assert h2.call('unstable').args.message == 'earthly-doctor could not complete its diagnosis'
}

test('a lost process (negative exit code) counts as a tool error') { h ->
    h.onSh(~/ diagnose /, -1, '')
    Map result = h.load('earthlyDoctor').call(install: 'none')
    assert result.status == 'tool-error' && result.exitCode == 3
}

test('failOn, timeout and extra arguments reach the command line, quoted') { h ->
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.load('earthlyDoctor').call(install: 'none', failOn: 'warn', timeout: 4,
                                 args: ['--docker-host', 'unix:///run/my docker.sock'], reportDir: "it's here")
    String script = h.call('sh').args.script
    assert script.contains("diagnose --timeout 4 '--docker-host' 'unix:///run/my docker.sock' --format text --fail-on 'warn'")
    assert script.contains("mkdir -p 'it'\"'\"'s here'")
    assert script.contains("--output 'junit:it'\"'\"'s here/diagnose-junit.xml'")
    assert h.call('junit').args.testResults == "it's here/*-junit.xml"
}

test('a tool path given is used as is, without installing') { h ->
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.load('earthlyDoctor').call(tool: '/opt/ed/bin/earthly-doctor')
    assert h.calls('sh').size() == 1
    assert h.call('sh').args.script.contains("'/opt/ed/bin/earthly-doctor' diagnose")
    assert h.calls('libraryResource').isEmpty()
}

test('auto install falls back to the index when the library bundles no wheel') { h ->
    h.resources = new File(h.workspace, 'no-resources')
    h.onSh('-m venv', 0, 'earthly-doctor 0.1.0')
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    Map result = h.load('earthlyDoctor').call(version: '0.1.0', indexUrl: 'https://pypi.example/simple', pipArgs: ['--timeout', '30'])
    assert result.status == 'ok'
    assert h.calls('libraryResource')*.args == ['io/earthlydoctor/wheels.txt']
    Map install = h.calls('sh')[0].args
    assert install.label == 'earthly-doctor: install' && install.returnStatus == true
    assert install.script.contains("venv='.earthly-doctor/venv'")
    assert install.script.contains("'python3' -m venv \"\$venv\"")
    assert install.script.contains("\"\$venv/bin/python\" -m pip install '--disable-pip-version-check' '--quiet' '--index-url' 'https://pypi.example/simple' '--timeout' '30' 'earthly-doctor==0.1.0'")
    assert install.script.contains('"$venv/bin/earthly-doctor" --version')
    assert h.calls('sh')[1].args.script.contains("'.earthly-doctor/venv/bin/earthly-doctor' diagnose")
}

test('install from the wheels the library ships (libraryResource, Base64)') { h ->
    File res = new File(h.workspace, 'lib-resources/io/earthlydoctor')
    res.mkdirs()
    byte[] wheel = (0..255).collect { it as byte } as byte[]
    new File(res, 'wheels.txt').text = '# built by jenkins/bundle-wheels.sh\ntyper-0.12.0-py3-none-any.whl\nearthly_doctor-0.1.0-py3-none-any.whl\n'
    new File(res, 'earthly_doctor-0.1.0-py3-none-any.whl').bytes = wheel
    new File(res, 'typer-0.12.0-py3-none-any.whl').bytes = [1, 2, 3] as byte[]
    h.resources = new File(h.workspace, 'lib-resources')
    h.onSh('-m venv', 0, 'earthly-doctor 0.1.0')
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')

    h.load('earthlyDoctor').call(install: 'resource', offline: true, systemSitePackages: true, venv: 'tools/venv', wheelDir: 'tools/wheels')
    assert h.calls('libraryResource')*.args == ['io/earthlydoctor/wheels.txt',
        [resource: 'io/earthlydoctor/typer-0.12.0-py3-none-any.whl', encoding: 'Base64'],
        [resource: 'io/earthlydoctor/earthly_doctor-0.1.0-py3-none-any.whl', encoding: 'Base64']]
    assert h.calls('writeFile')*.args*.file == ['tools/wheels/typer-0.12.0-py3-none-any.whl', 'tools/wheels/earthly_doctor-0.1.0-py3-none-any.whl']
    assert h.file('tools/wheels/earthly_doctor-0.1.0-py3-none-any.whl').bytes == wheel
    String script = h.calls('sh')[0].args.script
    assert script.contains("-m venv --system-site-packages \"\$venv\"")
    assert script.contains("'--find-links' 'tools/wheels' '--no-index' 'tools/wheels/earthly_doctor-0.1.0-py3-none-any.whl'")
    assert h.calls('sh')[1].args.script.contains("'tools/venv/bin/earthly-doctor' diagnose")
}

test('install: resource without bundled wheels skips the diagnosis quietly') { h ->
    h.resources = new File(h.workspace, 'none')
    Map result = h.load('earthlyDoctor').call(install: 'resource')
    assert result.status == 'tool-error'
    assert h.calls('sh').isEmpty() && h.calls('junit').isEmpty()
    assert h.consoleText().contains("install: 'resource' but the library ships no wheels")
    neverFailsTheStage(h)
}

test('a failed install never fails the stage') { h ->
    h.resources = new File(h.workspace, 'none')
    h.onSh('-m venv', 1, 'ERROR: Could not find a version that satisfies the requirement earthly-doctor')
    Map result = h.load('earthlyDoctor').call(install: 'index')
    assert result.status == 'tool-error'
    assert h.calls('sh').size() == 1
    assert h.consoleText().contains('installing earthly-doctor into .earthly-doctor/venv failed (exit 1)')
    assert h.currentBuild.result == null
    neverFailsTheStage(h)
}

test('triage: true triages this build log next to the diagnosis; the log verdict wins over healthy') { h ->
    h.buildLog = ['Started by user admin', '[Pipeline] sh', '+ earthly +image', 'Error: pull ping error: … connection refused']
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    Map result = h.load('earthlyDoctor').call(install: 'none', triage: true, triageLines: 3)
    assert h.file('earthly-doctor/build.log').text == '[Pipeline] sh\n+ earthly +image\nError: pull ping error: … connection refused\n'
    List scripts = h.calls('sh')*.args*.script
    assert scripts.size() == 2
    assert scripts[1].contains("NO_COLOR=1 'earthly-doctor' triage 'earthly-doctor/build.log' --format text")
    assert scripts[1].contains("--output 'warnings-ng:earthly-doctor/triage-issues.json'")
    assert result.status == 'problem' && result.cause == 'proxy-unreachable' && result.confidence == 'likely'
    assert result.reports == ['earthly-doctor/diagnose.json', 'earthly-doctor/triage.json']
    assert h.call('junit').args.testResults == 'earthly-doctor/*-junit.xml'  // one pattern picks up both files
    assert h.call('recordIssues').args.tool.pattern == 'earthly-doctor/*-issues.json'
    assert h.currentBuild.result == 'UNSTABLE'
}

test('triage: true in a sandboxed library says why and still diagnoses') { h ->
    h.buildLog = null
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    Map result = h.load('earthlyDoctor').call(install: 'none', triage: true)
    assert h.calls('sh').size() == 1
    assert h.consoleText().contains("cannot read this build's log here (RejectedAccessException")
    assert result.status == 'problem'
    neverFailsTheStage(h)
}

test('log: FILE triages a saved log; diagnose: false skips the probe') { h ->
    h.file('earthly.log').text = 'dial tcp 127.0.0.1:35137: connect: connection refused\n'
    h.fakeDoctor(~/ triage /, 1, 'triage')
    Map result = h.load('earthlyDoctor').call(install: 'none', diagnose: false, log: 'earthly.log')
    assert h.calls('sh').size() == 1
    assert h.call('sh').args.script.contains("'earthly-doctor' triage 'earthly.log'")
    assert result.cause == 'proxy-unreachable' && result.reports == ['earthly-doctor/triage.json']
}

test('a missing log file is reported, not an error') { h ->
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    Map result = h.load('earthlyDoctor').call(install: 'none', log: 'nope.log')
    assert h.calls('sh').size() == 1 && result.status == 'ok'
    assert h.consoleText().contains('log nope.log not found')
}

test('without the Warnings NG plugin the rest is still published') { h ->
    h.missingSteps = ['recordIssues'] as Set
    h.bindSteps()
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    Map result = h.load('earthlyDoctor').call(install: 'none')
    assert result.status == 'problem'
    assert h.steps().containsAll(['junit', 'archiveArtifacts', 'unstable'])
    assert h.consoleText().contains('earthly-doctor: recordIssues failed (MissingMethodException')
    neverFailsTheStage(h)
}

test('an older junit plugin that rejects the skip options gets the plain call') { h ->
    h.failingSteps = [junit: 1]
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.load('earthlyDoctor').call(install: 'none')
    assert h.calls('junit')*.args == [
        [testResults: 'earthly-doctor/*-junit.xml', allowEmptyResults: true, skipMarkingBuildUnstable: true, skipPublishingChecks: true],
        [testResults: 'earthly-doctor/*-junit.xml', allowEmptyResults: true]]
    assert h.steps().contains('recordIssues')
}

test('publishing steps that all fail still leave the stage alone') { h ->
    h.failingSteps = [junit: -1, recordIssues: -1, archiveArtifacts: -1, unstable: -1]
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    Map result = h.load('earthlyDoctor').call(install: 'none')
    assert result.status == 'problem'
    assert h.consoleText().contains('earthly-doctor: unstable failed')
    neverFailsTheStage(h)
}

test('our own step timeout is swallowed') { h ->
    h.timeoutBehaviour = 'expire'
    Map result = h.load('earthlyDoctor').call(install: 'none', stepTimeout: 60)
    assert h.call('timeout').args == [time: 60, unit: 'SECONDS']
    assert result.status == 'tool-error'
    assert h.consoleText().contains('could not run (FlowInterruptedException')
    neverFailsTheStage(h)
}

test('a user abort goes through') { h ->
    h.timeoutBehaviour = 'abort'
    boolean aborted = false
    try {
        h.load('earthlyDoctor').call(install: 'none')
    } catch (InterruptedException e) {
        aborted = e.getClass().simpleName == 'FlowInterruptedException'
    }
    assert aborted
}

test('unknown parameters are named and ignored; a bad install mode falls back to auto') { h ->
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.resources = new File(h.workspace, 'none')
    h.onSh('-m venv', 0, '')
    h.load('earthlyDoctor').call(reprotDir: 'x', install: 'pip')
    assert h.consoleText().contains("unknown parameter 'reprotDir' ignored")
    assert h.consoleText().contains("install: 'pip' is not auto, resource, index or none; using auto")
    assert h.calls('sh').size() == 2
}

test('description: true puts the verdict line into the build description') { h ->
    h.currentBuild.description = 'deployed to staging'
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.load('earthlyDoctor').call(install: 'none', description: true)
    assert h.currentBuild.description.startsWith('deployed to staging\nearthly-doctor: proxy-unreachable-bridge-container (proven): ')
}

test('quality gates and the issues id/name are passed to recordIssues') { h ->
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    List gates = [[threshold: 1, type: 'TOTAL_ERROR', criticality: 'UNSTABLE']]
    h.load('earthlyDoctor').call(install: 'none', qualityGates: gates, issuesId: 'ed-linux', issuesName: 'Doctor (linux)',
                                 junit: false, archive: false)
    Map args = h.call('recordIssues').args
    assert args.qualityGates == gates
    assert args.tool.id == 'ed-linux' && args.tool.name == 'Doctor (linux)'
    assert h.calls('junit').isEmpty() && h.calls('archiveArtifacts').isEmpty()
}

test('the step is callable like a step from another var, and install() on its own') { h ->
    h.resources = new File(h.workspace, 'none')
    h.onSh('-m venv', 0, '')
    def doctor = h.load('earthlyDoctor')
    assert doctor.install(install: 'index', venv: 'v') == 'v/bin/earthly-doctor'
    assert doctor.install(install: 'none') == 'earthly-doctor'
    assert doctor.install(tool: '/x/ed') == '/x/ed'
}

test('pipArgs may be one string') { h ->
    h.resources = new File(h.workspace, 'none')
    h.onSh('-m venv', 0, '')
    h.load('earthlyDoctor').install(install: 'index', pipArgs: '--timeout 30 --retries 1')
    assert h.call('sh').args.script.contains("'--quiet' '--timeout' '30' '--retries' '1' 'earthly-doctor'")
}

test('description: markdown appends the Markdown summary of the report that gave the verdict') { h ->
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    h.file('x.log').text = 'refused\n'
    Map result = h.load('earthlyDoctor').call(install: 'none', log: 'x.log', description: 'markdown')
    assert result.source == 'earthly-doctor/triage.json'
    assert h.currentBuild.description == h.file('earthly-doctor/triage.md').text.trim()
    assert h.currentBuild.description.startsWith('**earthly-doctor triage: PROBLEM**')
}

test('a Windows agent is skipped with a note') { h ->
    h.unix = false
    Map result = h.load('earthlyDoctor').call()
    assert result.status == 'skipped'
    assert h.calls('sh').isEmpty() && h.calls('junit').isEmpty()
    assert h.consoleText().contains('skipped on a non-Unix agent')
}

test('inside catchError the step neither throws nor trips it: UNSTABLE comes from the step itself') { h ->
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.binding.getVariable('catchError').call([buildResult: 'SUCCESS', stageResult: 'UNSTABLE']) {
        h.load('earthlyDoctor').call(install: 'none')
    }
    assert h.currentBuild.result == 'UNSTABLE' && h.calls('catchError').size() == 1
    neverFailsTheStage(h)
}
