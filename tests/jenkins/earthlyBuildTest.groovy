// Tests of vars/earthlyBuild.groovy in the PipelineHarness: the build through `earthly-doctor run`, and the diagnosis
// (earthlyDoctor triaging earthly's own output) when it fails.

def expectError = { Closure body ->
    try {
        body.call()
    } catch (IOException e) {
        assert e.getClass().name == 'hudson.AbortException'
        return e.message
    }
    assert false: 'expected the step to fail the stage'
}

test('a passing build goes through earthly-doctor run and keeps its output') { h ->
    h.onSh('run --help', 0, '')
    h.onSh("-- 'earthly' '--ci'", 0, 'Image +image output')
    assert h.load('earthlyBuild').call(target: '+image', args: ['--ci'], buildArgs: ['--VERSION=1.2'],
                                       runArgs: ['--timeout', '5'], doctor: [install: 'none']) == 0
    List sh = h.calls('sh')*.args
    assert sh*.label == ['earthly-doctor: run available?', 'earthly +image']
    assert sh[0].script == "'earthly-doctor' run --help >/dev/null 2>&1"
    String script = sh[1].script
    assert script.contains("{ set +e; 'earthly-doctor' run '--timeout' '5' -- 'earthly' '--ci' '+image' '--VERSION=1.2'; echo \$? > 'earthly-doctor'/earthly.rc; } 2>&1 | tee 'earthly-doctor'/earthly.log")
    assert script.contains('exit "$(cat \'earthly-doctor\'/earthly.rc)"')
    assert h.calls('junit').isEmpty() && h.calls('error').isEmpty()
}

test('a failing build is diagnosed with its own output, then fails the stage') { h ->
    h.onSh('run --help', 0, '')
    h.fakeDoctor(~/ run -- /, 1, 'triage')  // earthly's failure (the fake also leaves reports, harmlessly)
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    h.file('earthly-doctor/earthly.log').with { parentFile.mkdirs(); text = 'connection refused\n' }
    String message = expectError { h.load('earthlyBuild').call(target: '+image', doctor: [install: 'none', unstable: false]) }
    assert message == 'earthly +image failed (exit 1)'
    List scripts = h.calls('sh')*.args*.script
    assert scripts.size() == 4
    assert scripts[2].contains("'earthly-doctor' diagnose")
    assert scripts[3].contains("'earthly-doctor' triage 'earthly-doctor/earthly.log'")
    assert h.steps().containsAll(['junit', 'recordIssues', 'archiveArtifacts'])
    assert h.calls('unstable').isEmpty()  // doctor: [unstable: false] reached earthlyDoctor
}

test('without `run` in the installed tool, earthly runs directly') { h ->
    h.onSh('run --help', 2, '')
    h.onSh("'earthly' '+image'", 0, '')
    h.load('earthlyBuild').call(target: '+image', doctor: [install: 'none'])
    assert h.calls('sh')[1].args.script.contains("{ set +e; 'earthly' '+image'; echo")
    assert h.consoleText().contains('this version has no `run` command; running earthly directly.')
}

test('a failed install never stops the build: plain earthly, and no diagnosis on success') { h ->
    h.resources = new File(h.workspace, 'none')
    h.onSh('-m venv', 1, 'no index')
    h.onSh("'earth' '+image'", 0, '')
    h.load('earthlyBuild').call(target: '+image', earthly: 'earth')
    assert h.calls('sh').size() == 2
    assert h.consoleText().contains('earthly-doctor: not installed; running earthly directly.')
}

test('preflight: false, diagnoseOnFailure: false: earthly only, and its failure fails the stage') { h ->
    h.onSh("'earthly' '+test'", 3, '')
    String message = expectError { h.load('earthlyBuild').call(target: '+test', preflight: false, diagnoseOnFailure: false) }
    assert message == 'earthly +test failed (exit 3)'
    assert h.calls('sh').size() == 1 && h.calls('junit').isEmpty()
}

test('a missing target is a usage error') { h ->
    assert expectError { h.load('earthlyBuild').call([:]) }.startsWith('earthlyBuild: target is required')
    assert h.calls('sh').isEmpty()
}

test('list parameters may be given as one string') { h ->
    h.onSh("'earthly' '--ci' '--push' '+image' '--TAG=1'", 0, '')
    h.load('earthlyBuild').call(target: '+image', args: '--ci --push', buildArgs: '--TAG=1', preflight: false)
    assert h.calls('sh').size() == 1
}

test('two earthlyBuild calls in one build keep separate logs and reports') { h ->
    h.onSh("'earthly' '+a'", 1, 'a failed')
    h.onSh("'earthly' '+b'", 1, 'b failed')
    h.fakeDoctor(~/ diagnose /, 1, 'failing')
    h.fakeDoctor(~/ triage /, 1, 'triage')
    def build = h.load('earthlyBuild')
    for (String t in ['+a', '+b']) {
        expectError { build.call(target: t, preflight: false, doctor: [install: 'none']) }
    }
    List scripts = h.calls('sh')*.args*.script
    assert scripts[0].contains("tee 'earthly-doctor'/earthly.log")
    assert scripts.find { it.contains("'+b'") }.contains("tee 'earthly-doctor-2'/earthly.log")
    assert h.calls('recordIssues')*.args*.tool*.id == ['earthly-doctor', 'earthly-doctor-2']
}

test('the preflight install runs inside the doctor time limit; its own timeout falls back to plain earthly') { h ->
    h.onSh('-m venv', 0, '') { String script -> sleep(1200) }  // pip hanging past stepTimeout
    h.onSh("'earthly' '+image'", 0, '')
    h.fakeRelease('0.1.0')
    assert h.load('earthlyBuild').call(target: '+image', doctor: [stepTimeout: 1]) == 0
    assert h.calls('timeout')*.args == [[time: 1, unit: 'SECONDS']]
    assert h.steps().indexOf('timeout') < h.calls.findIndexOf { it.step == 'sh' && it.args.label == 'earthly-doctor: install' }
    assert h.consoleText().contains('earthly-doctor preflight: stopped by its own time limit (1s)')
    assert h.consoleText().contains('earthly-doctor: preflight unavailable; running earthly directly.')
}

test('an enclosing timeout during the preflight install goes through earthlyBuild') { h ->
    h.onSh('-m venv', 0, '') { String script -> sleep(1200) }
    h.fakeRelease('0.1.0')
    boolean interrupted = false
    try {
        h.binding.getVariable('timeout').call([time: 1, unit: 'SECONDS']) {
            h.load('earthlyBuild').call(target: '+image')
        }
    } catch (InterruptedException e) {
        interrupted = e.causes*.nodeId == ['timeout-1']
    }
    assert interrupted
    assert !h.calls('sh')*.args*.label.contains('earthly +image')
}
