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
    assert h.calls('sh')*.args*.label.take(3) == ['earthly-doctor: python?', 'earthly-doctor: install', 'earthly-doctor: diagnose']
    assert h.calls('sh')[2].args.script.contains("'.earthly-doctor/venv/bin/earthly-doctor' diagnose")
    assert result.status == 'problem' && result.cause == 'docker-unreachable' && result.via == 'venv'

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

test('real install: a wheel that does not match its sha256 in wheels.txt is refused before pip runs') { h ->
    h.realShell = true
    File release = new File(System.getenv('ED_RESOURCES'))
    File copy = h.file('tampered-resources/io/earthlydoctor')
    copy.mkdirs()
    for (File f in new File(release, 'io/earthlydoctor').listFiles()) {
        new File(copy, f.name).bytes = f.bytes
    }
    File wheel = copy.listFiles().find { it.name.endsWith('.whl') }
    wheel.append([0] as byte[])
    h.resources = h.file('tampered-resources')
    Map result = h.load('earthlyDoctor').call(python: System.getenv('ED_PYTHON'), systemSitePackages: true, offline: true)
    assert result.status == 'tool-error'
    assert h.consoleText().contains("sha256 mismatch (not the release's wheels): ${wheel.name}")
    assert !h.file('.earthly-doctor/venv/bin/earthly-doctor').exists()
    assert h.calls('sh')*.args*.label == ['earthly-doctor: python?', 'earthly-doctor: install']
}

/** An agent whose python3 is this machine's; its venvs see the installed dependencies (no index is reachable here). */
def agentPython = { h ->
    File bin = h.file('agent-bin')
    bin.mkdirs()
    File py = new File(bin, 'python3')
    py.text = "#!/bin/sh\nif [ \"\$1\" = -m ] && [ \"\$2\" = venv ]; then shift 2; exec '${System.getenv('ED_PYTHON')}' -m venv --system-site-packages \"\$@\"; fi\nexec '${System.getenv('ED_PYTHON')}' \"\$@\"\n"
    py.setExecutable(true)
    File earthly = new File(bin, 'earthly')
    earthly.text = "#!/bin/sh\ncat '${System.getenv('ED_SAMPLE_LOG')}'\nexit 1\n"
    earthly.setExecutable(true)
    h.env.PATH = "${bin.absolutePath}:/usr/bin:/bin".toString()
    h.env.PIP_NO_INDEX = '1'
    h.env.DOCKER_HOST = 'unix:///nonexistent/earthly-doctor-test.sock'
    return bin
}

test('the README quick start works as written: the release wheels are checked, installed and run') { h ->
    h.realShell = true
    h.resources = new File(System.getenv('ED_RESOURCES'))
    agentPython(h)
    String readme = new File(h.library, 'README.md').getText('UTF-8')
    String quick = readme.substring(readme.indexOf('## Quick start'))
    String jenkinsfile = (quick =~ /(?s)```groovy\n(.*?)```/)[0][1]
    File f = h.file('Jenkinsfile')
    f.text = jenkinsfile
    assert h.runJenkinsfile(f) == 'FAILURE'
    assert h.calls('sh')*.args*.label.findAll { it } == ['earthly-doctor: python?', 'earthly-doctor: install', 'earthly-doctor: diagnose']
    assert h.consoleText().contains('earthly-doctor: docker-unreachable (proven)')
    assert h.file('.earthly-doctor/wheels/SHA256SUMS').text.contains('earthly_doctor-')
    assert h.file('earthly-doctor/diagnose-junit.xml').size() > 0
    assert h.steps().containsAll(['junit', 'recordIssues', 'archiveArtifacts'])
}

/**
 * A docker CLI stand-in for the image fallback: `docker create` keeps the argv, `cp` copies into/out of a folder per
 * container, `start -a` runs the real earthly-doctor with the container's /tmp mapped to that folder, `rm` removes
 * it; each call is logged. (No image can be built here in this test; the image's own e2e test is the lead's.)
 */
def fakeDocker = { h, File bin ->
    File state = h.file('docker-state')
    state.mkdirs()
    File docker = new File(bin, 'docker')
    docker.text = "#!${System.getenv('ED_PYTHON')}\n" + '''import json, os, pathlib, shutil, subprocess, sys
state = pathlib.Path(os.environ["FAKE_DOCKER_STATE"])
args = sys.argv[1:]
with open(state / "calls.log", "a") as log:
    log.write(json.dumps(args) + "\\n")
def root(name):
    return state / name
if args[0] == "version":
    print("27.0.0"); sys.exit(0)
if args[0] == "inspect":
    sys.exit(0 if args[-1] == os.environ.get("FAKE_AGENT_CONTAINER") else 1)
if args[0] == "create":
    name = args[args.index("--name") + 1]
    image = os.environ["FAKE_IMAGE"]
    root(name).mkdir()
    (root(name) / "argv.json").write_text(json.dumps(args[args.index(image) + 1:]))
    (root(name) / "tmp").mkdir()
    print("c0ffee"); sys.exit(0)
if args[0] == "cp":
    src, dst = args[1], args[2]
    def local(spec):
        if ":" in spec and not spec.startswith("/"):
            name, path = spec.split(":", 1)
            return root(name) / path.lstrip("/")
        return pathlib.Path(spec)
    s, d = local(src), local(dst)
    if not s.exists():
        sys.exit(1)
    shutil.copy(s, d); sys.exit(0)
if args[0] == "start":
    name = args[-1]
    argv = json.loads((root(name) / "argv.json").read_text())
    tmp = str(root(name) / "tmp")
    argv = [a.replace("/tmp/", tmp + "/") for a in argv]
    sys.exit(subprocess.call([os.environ["ED_TOOL"], *argv]))
if args[0] == "rm":
    shutil.rmtree(root(args[-1]), ignore_errors=True); sys.exit(0)
sys.exit(125)
'''
    docker.setExecutable(true)
    h.env.FAKE_DOCKER_STATE = state.absolutePath
    h.env.ED_TOOL = System.getenv('ED_TOOL')
    return state
}

test('real sh: no usable Python but a docker CLI: the doctor image runs in the namespaces of this container, reports copied out') { h ->
    h.realShell = true
    File bin = h.file('agent-bin')
    bin.mkdirs()
    File python = new File(bin, 'python3')
    python.text = '#!/bin/sh\nexit 1\n'  // an agent whose python3 cannot even run -c (Python 3.10 would exit 3)
    python.setExecutable(true)
    File state = fakeDocker(h, bin)
    h.env.FAKE_AGENT_CONTAINER = 'hostname'.execute().text.trim()
    h.env.FAKE_IMAGE = 'earthly-doctor:0.1.0'
    h.env.PATH = "${bin.absolutePath}:/usr/bin:/bin".toString()
    h.env.DOCKER_HOST = 'unix:///nonexistent/earthly-doctor-test.sock'
    h.file('earthly.log').text = new File(System.getenv('ED_SAMPLE_LOG')).text
    Map result = h.load('earthlyDoctor').call(version: '0.1.0', log: 'earthly.log', timeout: 5,
                                              args: ['--docker-host', 'unix:///nonexistent/earthly-doctor-test.sock'])
    assert result.via == 'image'
    assert h.consoleText().contains('earthly-doctor: python3 has no venv/ensurepip module')
    assert h.consoleText().contains('running the image earthly-doctor:0.1.0')
    List calls = state.toPath().resolve('calls.log').toFile().readLines().collect { new groovy.json.JsonSlurper().parseText(it) }
    List create = calls.find { it[0] == 'create' }
    assert create.contains('--network') && create[create.indexOf('--network') + 1].startsWith('container:')
    assert create.contains('--pid') && create[create.indexOf('--pid') + 1].startsWith('container:')
    assert create.contains('/var/run/docker.sock:/var/run/docker.sock')
    assert calls.count { it[0] == 'rm' } == 2 && !state.listFiles().any { it.isDirectory() }  // both containers removed
    for (String name in ['diagnose.json', 'diagnose-junit.xml', 'triage.json', 'triage-issues.json', 'triage.sarif']) {
        assert h.file("earthly-doctor/${name}").size() > 0: name
    }
    assert result.status == 'problem' && result.cause == 'docker-unreachable'
    assert h.steps().containsAll(['junit', 'recordIssues', 'archiveArtifacts'])
}

test('real fleet: two nodes diagnosed with the real CLI, stashed back and folded by the real earthly-doctor merge') { h ->
    h.realShell = true
    h.labels = [docker: ['agent-1', 'agent-2']]
    Map fleet = h.load('earthlyDoctorFleet').call(label: 'docker',
        doctor: [tool: System.getenv('ED_TOOL'), args: ['--docker-host', noDaemon], timeout: 5])
    assert fleet.nodes == ['agent-1': 'problem', 'agent-2': 'problem'] && fleet.status == 'problem'
    assert fleet.reports == ['earthly-doctor-fleet/agent-1/diagnose.json', 'earthly-doctor-fleet/agent-2/diagnose.json']
    Map merged = new groovy.json.JsonSlurper().parse(h.file('earthly-doctor-fleet/fleet.json')) as Map
    assert merged.toString().count('docker-unreachable') >= 2
    assert h.file('earthly-doctor-fleet/fleet.md').text.startsWith('**earthly-doctor fleet**')
    def suite = new XmlSlurper().parse(h.file('earthly-doctor-fleet/fleet-junit.xml'))
    assert suite.testcase.size() == 2 && suite.@failures.toString() == '2'
    assert h.call('junit').args.testResults == 'earthly-doctor-fleet/fleet-junit.xml'
    assert h.call('unstable').args.message.contains('agent-1, agent-2')
}
