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
                                    skipMarkingBuildUnstable: true, skipMarkingStageUnstable: true,
                                    skipPublishingChecks: true]
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
    // junit itself must not mark the stage either (it does for a failing test unless told not to, junit >= 1416)
    assert h.call('junit').args.skipMarkingStageUnstable == true && h.call('junit').args.skipMarkingBuildUnstable == true
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

test('without bundled wheels, auto installs the pinned version from the index') { h ->
    h.resources = new File(h.workspace, 'no-resources')
    h.onSh('-m venv', 0, 'earthly-doctor 0.1.0')
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    Map result = h.load('earthlyDoctor').call(version: '0.1.0', indexUrl: 'https://pypi.example/simple', pipArgs: ['--timeout', '30'])
    assert result.status == 'ok' && result.via == 'venv'
    assert h.calls('libraryResource')*.args == ['io/earthlydoctor/wheels.txt']
    assert h.calls('sh')*.args*.label == ['earthly-doctor: python?', 'earthly-doctor: install', 'earthly-doctor: diagnose']
    Map install = h.calls('sh')[1].args
    assert install.returnStatus == true
    assert install.script.contains("venv='.earthly-doctor/venv'")
    assert install.script.contains("'python3' -m venv \"\$venv\"")
    assert install.script.contains("\"\$venv/bin/python\" -m pip install '--disable-pip-version-check' '--quiet' '--index-url' 'https://pypi.example/simple' '--timeout' '30' 'earthly-doctor==0.1.0'")
    assert install.script.contains('"$venv/bin/earthly-doctor" --version')
    assert h.calls('sh')[2].args.script.contains("'.earthly-doctor/venv/bin/earthly-doctor' diagnose")
}

test('never an unpinned install: no wheels and no version means no pip at all') { h ->
    h.resources = new File(h.workspace, 'no-resources')
    Map result = h.load('earthlyDoctor').call()
    assert result.status == 'tool-error'
    assert !h.calls('sh')*.args*.script.any { it.contains('pip install') }
    assert h.consoleText().contains("no version was given, so nothing pinned can be installed")
    assert h.consoleText().contains('the doctor image is no way out either: no docker CLI on this agent')

    def h2 = h.getClass().newInstance(h.library, new File(h.workspace, 'index'), h.fixtures)
    h2.resources = h.resources
    assert h2.load('earthlyDoctor').call(install: 'index').status == 'tool-error'
    assert h2.calls('sh').isEmpty()
    assert h2.consoleText().contains("install: 'index' needs version: 'X.Y.Z'")
}

test('index install with hashes: pip checks the distribution in hash-checking mode first') { h ->
    h.resources = new File(h.workspace, 'no-resources')
    h.onSh('-m venv', 0, '')
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    String digest = 'ab' * 32
    h.load('earthlyDoctor').call(version: '0.2.0', hashes: [digest])
    assert h.file('.earthly-doctor/wheels/requirements.txt').text == "earthly-doctor==0.2.0 --hash=sha256:${digest}\n"
    String script = h.calls('sh')[1].args.script
    assert script.contains("--no-deps --require-hashes -r '.earthly-doctor/wheels/requirements.txt'")
    assert script.indexOf('--require-hashes') < script.indexOf("'earthly-doctor==0.2.0'")
}

test('install from the wheels the release ships (libraryResource, Base64), each checked against its sha256') { h ->
    byte[] wheel = (0..255).collect { it as byte } as byte[]
    h.fakeRelease('0.1.0', ['typer-0.12.0-py3-none-any.whl': [1, 2, 3] as byte[], 'earthly_doctor-0.1.0-py3-none-any.whl': wheel], 'bundled')
    h.onSh('-m venv', 0, 'earthly-doctor 0.1.0')
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')

    Map result = h.load('earthlyDoctor').call(install: 'resource', systemSitePackages: true, venv: 'tools/venv', wheelDir: 'tools/wheels')
    assert result.via == 'venv'
    assert h.calls('libraryResource')*.args == ['io/earthlydoctor/wheels.txt',
        [resource: 'io/earthlydoctor/typer-0.12.0-py3-none-any.whl', encoding: 'Base64'],
        [resource: 'io/earthlydoctor/earthly_doctor-0.1.0-py3-none-any.whl', encoding: 'Base64']]
    assert h.calls('writeFile')*.args*.file == ['tools/wheels/typer-0.12.0-py3-none-any.whl',
        'tools/wheels/earthly_doctor-0.1.0-py3-none-any.whl', 'tools/wheels/SHA256SUMS']
    assert h.file('tools/wheels/earthly_doctor-0.1.0-py3-none-any.whl').bytes == wheel
    assert h.file('tools/wheels/SHA256SUMS').text.contains('  earthly_doctor-0.1.0-py3-none-any.whl\n')
    String script = h.calls('sh')[1].args.script
    assert script.contains("-m venv --system-site-packages \"\$venv\"")
    assert script.indexOf('hashlib.sha256') < script.indexOf('-m pip install')  // verified before pip runs
    assert script.contains("'--find-links' 'tools/wheels' '--no-index' 'tools/wheels/earthly_doctor-0.1.0-py3-none-any.whl'")
    assert h.calls('sh')[2].args.script.contains("'tools/venv/bin/earthly-doctor' diagnose")
}

test('a wheels.txt line without a sha256 is refused, nothing is installed') { h ->
    h.fakeRelease('0.1.0')
    new File(h.resources, 'io/earthlydoctor/wheels.txt').text = 'version 0.1.0\nearthly_doctor-0.1.0-py3-none-any.whl\n'
    Map result = h.load('earthlyDoctor').call()
    assert result.status == 'tool-error'
    assert h.calls('sh').isEmpty()
    assert h.consoleText().contains('wheels.txt: line \'earthly_doctor-0.1.0-py3-none-any.whl\' is not')
}

test('auto prefers the release wheels over a version given for the index') { h ->
    h.fakeRelease('0.1.0')
    h.onSh('-m venv', 0, '')
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.load('earthlyDoctor').call(version: '9.9.9')
    String script = h.calls('sh')[1].args.script
    assert script.contains("'.earthly-doctor/wheels/earthly_doctor-0.1.0-py3-none-any.whl'") && !script.contains('9.9.9')
    assert !script.contains("'--no-index'")  // deps index: the dependencies come from the index (by range)
}

test('install: resource without bundled wheels skips the diagnosis quietly') { h ->
    h.resources = new File(h.workspace, 'none')
    Map result = h.load('earthlyDoctor').call(install: 'resource')
    assert result.status == 'tool-error'
    assert h.calls('sh').isEmpty() && h.calls('junit').isEmpty()
    assert h.consoleText().contains("install: 'resource' but the library ships no wheels (io/earthlydoctor/wheels.txt is missing")
    neverFailsTheStage(h)
}

test('a failed install never fails the stage') { h ->
    h.resources = new File(h.workspace, 'none')
    h.onSh('-m venv', 1, 'ERROR: Could not find a version that satisfies the requirement earthly-doctor==0.1.0')
    Map result = h.load('earthlyDoctor').call(install: 'index', version: '0.1.0')
    assert result.status == 'tool-error'
    assert h.calls('sh')*.args*.label == ['earthly-doctor: python?', 'earthly-doctor: install']
    assert h.consoleText().contains('installing earthly-doctor==0.1.0 from the index into .earthly-doctor/venv failed (exit 1)')
    assert h.currentBuild.result == null
    neverFailsTheStage(h)
}

test('an agent without Python 3.11 and without docker: said, skipped, stage untouched') { h ->
    h.resources = new File(h.workspace, 'none')
    h.pythonAnswer = 'python3 is 3.10.12, earthly-doctor needs 3.11 or newer'
    Map result = h.load('earthlyDoctor').call(install: 'index', version: '0.1.0')
    assert result.status == 'tool-error' && h.calls('sh').size() == 1
    assert h.consoleText().contains('earthly-doctor: python3 is 3.10.12, earthly-doctor needs 3.11 or newer')
    neverFailsTheStage(h)
}

test('triage: true in a trusted library triages this build log next to the diagnosis; the log verdict wins over healthy') { h ->
    h.buildLog = ['Started by user admin', '[Pipeline] sh', '+ earthly +image', 'Error: pull ping error: … connection refused']
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    Map result = h.load('earthlyDoctor').call(install: 'none', triage: true, trusted: true, triageLines: 3)
    assert h.rawBuildRead
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

test('triage: true without trusted: true never touches the build object (no approval request) and still diagnoses') { h ->
    h.buildLog = ['dial tcp 127.0.0.1:35137: connect: connection refused']
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    Map result = h.load('earthlyDoctor').call(install: 'none', triage: true)
    assert !h.rawBuildRead
    assert h.calls('sh').size() == 1
    assert h.consoleText().contains("only a trusted (global) library may do: pass trusted: true there, or save earthly's output")
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

test('an older junit plugin that rejects the skip options gets the plain call only when the step marks UNSTABLE anyway') { h ->
    h.failingSteps = [junit: 1]
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.load('earthlyDoctor').call(install: 'none')
    assert h.calls('junit')*.args == [
        [testResults: 'earthly-doctor/*-junit.xml', allowEmptyResults: true, skipMarkingBuildUnstable: true,
         skipMarkingStageUnstable: true, skipPublishingChecks: true],
        [testResults: 'earthly-doctor/*-junit.xml', allowEmptyResults: true]]
    assert h.steps().contains('recordIssues')

    def h2 = h.getClass().newInstance(h.library, new File(h.workspace, 'stable'), h.fixtures)
    h2.failingSteps = [junit: 1]
    h2.fakeDoctor(~/ diagnose /, 1, 'failing')
    h2.load('earthlyDoctor').call(install: 'none', unstable: false)
    assert h2.calls('junit').size() == 1  // the plain call would mark the stage UNSTABLE: not made
    assert h2.consoleText().contains('skipMarkingStageUnstable needs junit 1416 or newer')
    assert h2.currentBuild.result == null
}

test('publishing steps that all fail still leave the stage alone') { h ->
    h.failingSteps = [junit: -1, recordIssues: -1, archiveArtifacts: -1, unstable: -1]
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    Map result = h.load('earthlyDoctor').call(install: 'none')
    assert result.status == 'problem'
    assert h.consoleText().contains('earthly-doctor: unstable failed')
    neverFailsTheStage(h)
}

test('its own timeout becomes a tool-error: no exception, the build result untouched') { h ->
    h.onSh(~/ diagnose /, 0, '') { String script -> sleep(1200) }  // a diagnosis that hangs past stepTimeout
    Map result = h.load('earthlyDoctor').call(install: 'none', stepTimeout: 1)
    assert h.call('timeout').args == [time: 1, unit: 'SECONDS']
    assert result.status == 'tool-error'
    assert h.consoleText().contains('earthly-doctor: stopped by its own time limit (1s); the stage is left as it was.')
    assert h.currentBuild.result == null
    neverFailsTheStage(h)
}

test('an enclosing timeout that fires while the step runs goes through (the stage ends at its deadline)') { h ->
    h.onSh(~/ diagnose /, 0, '') { String script -> sleep(1200) }
    Throwable escaped = null
    try {
        h.binding.getVariable('timeout').call([time: 1, unit: 'SECONDS']) {
            h.load('earthlyDoctor').call(install: 'none', stepTimeout: 300)
        }
    } catch (InterruptedException e) {
        escaped = e
    }
    assert escaped != null && escaped.getClass().simpleName == 'FlowInterruptedException'
    assert escaped.causes*.nodeId == ['timeout-1']  // the enclosing one (ours is timeout-2)
    assert h.calls('timeout')*.args == [[time: 1, unit: 'SECONDS'], [time: 300, unit: 'SECONDS']]
    assert !h.consoleText().contains('earthly-doctor: stopped by its own time limit')
    assert h.calls('junit').isEmpty() && h.calls('unstable').isEmpty()
}

test('a user abort during the diagnosis goes through') { h ->
    h.abortAtSh = 1
    Throwable escaped = null
    try {
        h.load('earthlyDoctor').call(install: 'none')
    } catch (InterruptedException e) {
        escaped = e
    }
    assert escaped?.getClass()?.simpleName == 'FlowInterruptedException'
    assert escaped.causes*.getClass()*.simpleName == ['UserInterruption']
    assert h.calls('junit').isEmpty()
}

test('a user abort while publishing goes through too (attempt never swallows an interruption)') { h ->
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.binding.setVariable('junit') { Map arg ->
        throw h.interruption(h.classFor('jenkins.model.CauseOfInterruption$UserInterruption').newInstance())
    }
    boolean aborted = false
    try {
        h.load('earthlyDoctor').call(install: 'none')
    } catch (InterruptedException e) {
        aborted = true
    }
    assert aborted && h.calls('recordIssues').isEmpty()
}

test('in post of an `agent none` Pipeline (no node) the step says so and returns, isUnix included') { h ->
    h.unix = null
    Map result = h.load('earthlyDoctor').call()
    assert result.status == 'tool-error'
    assert h.consoleText().contains('earthly-doctor: could not run (IllegalStateException: Required context class hudson.Launcher is missing')
    assert h.calls('sh').isEmpty()
    neverFailsTheStage(h)
}

test('unknown parameters are named and ignored; a bad install mode falls back to auto') { h ->
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.resources = new File(h.workspace, 'none')
    h.onSh('-m venv', 0, '')
    h.load('earthlyDoctor').call(reprotDir: 'x', install: 'pip')
    assert h.consoleText().contains("unknown parameter 'reprotDir' ignored")
    assert h.consoleText().contains("install: 'pip' is not auto, resource, index, image or none; using auto")
    assert h.calls('sh')*.args*.label == ['earthly-doctor: docker?']  // no wheels, no version: only the image could
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
    assert doctor.install(install: 'index', version: '0.1.0', venv: 'v') == 'v/bin/earthly-doctor'
    assert doctor.install(install: 'index', venv: 'v') == null
    assert doctor.install(install: 'none') == 'earthly-doctor'
    assert doctor.install(tool: '/x/ed') == '/x/ed'
}

test('pipArgs may be one string') { h ->
    h.resources = new File(h.workspace, 'none')
    h.onSh('-m venv', 0, '')
    h.load('earthlyDoctor').install(install: 'index', version: '0.1.0', pipArgs: '--timeout 30 --retries 1')
    assert h.calls('sh')[1].args.script.contains("'--quiet' '--timeout' '30' '--retries' '1' 'earthly-doctor==0.1.0'")
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

test('a second call in one build keeps the reports and Warnings NG id of the first') { h ->
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    def doctor = h.load('earthlyDoctor')
    Map first = doctor.call(install: 'none')
    String firstReport = h.file('earthly-doctor/diagnose.json').text
    h.shRules.clear()
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    Map second = doctor.call(install: 'none')
    assert [first.reportDir, second.reportDir] == ['earthly-doctor', 'earthly-doctor-2']
    assert h.calls('recordIssues')*.args*.tool*.id == ['earthly-doctor', 'earthly-doctor-2']
    assert h.calls('recordIssues')*.args*.tool*.name == ['Earthly doctor', 'Earthly doctor #2']
    assert h.calls('junit')*.args*.testResults == ['earthly-doctor/*-junit.xml', 'earthly-doctor-2/*-junit.xml']
    assert h.file('earthly-doctor/diagnose.json').text == firstReport  // not overwritten
    assert h.file('earthly-doctor-2/diagnose.json').text.contains('"healthy"')
    assert second.reports == ['earthly-doctor-2/diagnose.json']
}

test('explicit reportDir and issuesId are kept as given') { h ->
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    h.load('earthlyDoctor').call(install: 'none', reportDir: 'reports/ed', issuesId: 'ed-lint', issuesName: 'ED')
    assert h.call('recordIssues').args.tool.id == 'ed-lint' && h.call('junit').args.testResults == 'reports/ed/*-junit.xml'
}
