// earthlyDoctor with `sh` run for real (sh -xe in the harness workspace): the real earthly-doctor CLI, the real
// install script. Needs env ED_TOOL (an earthly-doctor executable), ED_RESOURCES (a library resources/ folder with
// bundled wheels), ED_PYTHON (the interpreter for the venv); tests/integration/test_shared_library.py sets them.

String noDaemon = 'unix:///nonexistent/earthly-doctor-test.sock'

test('real CLI: diagnose with no daemon writes every report and the build turns unstable') { h ->
    h.realShell = true
    Map result = h.load('earthlyDoctor').call(tool: System.getenv('ED_TOOL'), args: ['--docker-host', noDaemon], timeout: 5)
    assert result.status == 'problem' && result.exitCode == 1
    assert result.cause == 'docker-unreachable' && result.confidence == 'proven'
    for (String name in ['diagnose.json', 'diagnose-junit.xml', 'diagnose-issues.json', 'diagnose.sarif', 'diagnose.md']) {
        assert h.file("earthly-doctor/${name}").size() > 0: name
    }
    assert h.consoleText().contains('Verdict: docker-unreachable (proven)')
    assert !h.consoleText().contains('\u001b[')
    assert h.currentBuild.result == 'UNSTABLE'
    assert h.steps().containsAll(['junit', 'recordIssues', 'archiveArtifacts', 'unstable'])
}

test('real install: the bundled wheel goes into a workspace venv offline, then diagnoses') { h ->
    h.realShell = true
    h.resources = new File(System.getenv('ED_RESOURCES'))
    // The dependencies come from the interpreter's site-packages: the test machine has them, no index is used.
    Map cfg = [install: 'resource', offline: true, systemSitePackages: true, python: System.getenv('ED_PYTHON'),
               args: ['--docker-host', noDaemon], timeout: 5]
    Map result = h.load('earthlyDoctor').call(cfg)
    assert h.file('.earthly-doctor/venv/bin/earthly-doctor').canExecute()
    assert h.file('.earthly-doctor/venv/.earthly-doctor-install').text.contains('--no-index')
    assert h.consoleText().contains('earthly-doctor 0.')  // `--version` after installing
    assert h.calls('sh')[1].args.script.contains("'.earthly-doctor/venv/bin/earthly-doctor' diagnose")
    assert result.status == 'problem' && result.cause == 'docker-unreachable'

    // A second run reuses the venv: same stamp, no reinstall.
    long installed = h.file('.earthly-doctor/venv/.earthly-doctor-install').lastModified()
    h.load('earthlyDoctor').call(cfg)
    assert h.consoleText().count('-m pip install') == 1
    assert h.file('.earthly-doctor/venv/.earthly-doctor-install').lastModified() == installed
}

test('real CLI: triage of a saved log next to the diagnosis; the log finding points at its line') { h ->
    h.realShell = true
    h.file('earthly.log').text = new File(System.getenv('ED_SAMPLE_LOG')).text
    Map result = h.load('earthlyDoctor').call(tool: System.getenv('ED_TOOL'), args: ['--docker-host', noDaemon], timeout: 5,
                                              log: 'earthly.log')
    assert result.reports == ['earthly-doctor/diagnose.json', 'earthly-doctor/triage.json']
    assert result.status == 'problem' && result.cause == 'docker-unreachable'  // diagnose's proof comes first
    String issues = h.file('earthly-doctor/triage-issues.json').text
    assert issues.contains('"fileName": "earthly.log"') && issues.contains('"lineStart": 7')
}

test('real earthlyBuild: a failing earthly is triaged from its own output, then fails the stage') { h ->
    h.realShell = true
    File bin = h.file('bin')
    bin.mkdirs()
    File earthly = new File(bin, 'earthly')
    earthly.text = "#!/bin/sh\ncat '${System.getenv('ED_SAMPLE_LOG')}'\nexit 1\n"
    earthly.setExecutable(true)
    h.env.PATH = "${bin.absolutePath}:${System.getenv('PATH')}".toString()
    String failed = null
    try {
        // preflight: false keeps this about the failure path, whatever `earthly-doctor run` decides without a daemon.
        h.load('earthlyBuild').call(target: '+image', preflight: false,
                                    doctor: [tool: System.getenv('ED_TOOL'), args: ['--docker-host', noDaemon], timeout: 5])
    } catch (IOException e) {
        failed = e.message
    }
    assert failed == 'earthly +image failed (exit 1)'
    assert h.file('earthly-doctor/earthly.rc').text.trim() == '1'
    assert h.file('earthly-doctor/earthly.log').text.contains('connect: connection refused')
    String issues = h.file('earthly-doctor/triage-issues.json').text
    assert issues.contains('"fileName": "earthly-doctor/earthly.log"') && issues.contains('"type": "ED160"')
    assert h.currentBuild.result == 'UNSTABLE'
}
