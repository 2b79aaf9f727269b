// earthlyDoctor: diagnose why Earthly's SAVE IMAGE fails with `dial tcp 127.0.0.1:<port>: connect: connection refused`
// on this agent and publish the result natively (JUnit, Warnings NG, archived reports).
// It never fails the stage through an error of its own: at most it marks the build UNSTABLE, as asked. Interruptions
// (an abort, an enclosing timeout) always go through. It runs in a folder (sandboxed) library: every call here is on
// script-security's whitelists (tests/jenkins/sandbox checks that), and the one trusted-only call sits in
// trustedBuildLog, reached only with `trusted: true`.
// Kept to plain statements and for loops (no closures over collections) so it runs the same under CPS.

import groovy.transform.Field

@Field static final String RESOURCE_DIR = 'io/earthlydoctor'
@Field static final String IMAGE_REPOSITORY = 'earthly-doctor'
@Field static final Map DEFAULTS = [
    reportDir          : '',                   // where reports are written; '' = earthly-doctor (-N for the Nth call)
    install            : 'auto',               // auto | resource | index | image | none
    tool               : '',                   // an earthly-doctor executable to use as is (skips installing)
    python             : 'python3',            // interpreter that creates the venv (3.11 or newer)
    venv               : '.earthly-doctor/venv',
    wheelDir           : '.earthly-doctor/wheels', // where bundled wheels are unpacked
    offline            : false,                // pip --no-index even when the bundled wheels lack dependencies
    packageName        : 'earthly-doctor',
    version            : '',                   // required for index installs, e.g. '0.1.0'; also the image tag
    hashes             : [],                   // index installs: sha256 hashes of the earthly-doctor distribution
    indexUrl           : '',                   // pip --index-url (a mirror)
    pipArgs            : [],                   // extra pip install arguments
    systemSitePackages : false,                // venv --system-site-packages (dependencies preinstalled)
    image              : '',                   // the doctor image; '' = earthly-doctor:<version>
    dockerArgs         : [],                   // extra `docker create` arguments for the image
    diagnose           : true,                 // run `earthly-doctor diagnose`
    triage             : false,                // triage this build's console log (needs trusted: true)
    trusted            : false,                // the library is a trusted (global) one: may read this build's log
    log                : '',                   // triage this log file from the workspace
    triageLines        : 20000,                // last lines of this build's log to triage
    args               : [],                   // extra arguments for diagnose
    timeout            : 10,                   // diagnose --timeout, seconds
    stepTimeout        : 300,                  // the whole step (install included), seconds
    failOn             : 'fail',               // --fail-on: warn | error | fail | never
    unstable           : true,                 // mark UNSTABLE when a problem is diagnosed
    unstableOnToolError: false,                // mark UNSTABLE when earthly-doctor itself could not run
    publish            : true,                 // false: write the reports only (earthlyDoctorFleet merges them)
    junit              : true,
    recordIssues       : true,
    issuesId           : '',                   // '' = earthly-doctor (-N for the Nth call in a build)
    issuesName         : '',                   // '' = Earthly doctor (#N)
    qualityGates       : [],                   // passed to recordIssues as is
    archive            : true,                 // archive the JSON, SARIF and Markdown reports
    description        : false,                // true: the verdict line into the description; 'markdown': the summary
    label              : 'earthly-doctor',
]
// How many times this build called the step: every call gets its own report folder and Warnings NG id.
@Field int callCount = 0

/**
 * earthlyDoctor(triage: true, …) → a Map:
 * [status: 'ok'|'problem'|'tool-error'|'skipped', exitCode: int, cause, confidence, summary, remedies: [String],
 *  reports: [String], source: the report that gave the verdict, via: 'venv'|'image'|'tool'|'path', reportDir,
 *  issuesId].
 */
def call(Map args = [:]) {
    Map result = [status: 'skipped', exitCode: -1, cause: null, confidence: null, summary: null, remedies: [],
                  reports: [], source: null, via: null, reportDir: null, issuesId: null]
    Map cfg = null
    boolean ran = guarded('earthly-doctor', stepSeconds(args)) {
        cfg = settings(args)
        result.reportDir = cfg.reportDir
        result.issuesId = cfg.issuesId
        if (isUnix()) {
            runDoctor(cfg, result)
        } else {
            // Earthly's proxy problem is a Linux network-namespace one, and the scripts here are POSIX sh.
            echo 'earthly-doctor: skipped on a non-Unix agent (run it where earthly runs, on Linux).'
        }
    }
    if (!ran) {
        result.status = 'tool-error'
    }
    if (cfg != null) {
        guarded('earthly-doctor: conclusion', 0) {
            conclude(cfg, result)
        }
    }
    return result
}

/**
 * Runs body within `seconds` (0: no own timeout). An error of its own is said in one line and gives false; any
 * interruption that is not this call's own timeout (an abort, an enclosing timeout) is rethrown.
 * The sandbox shows neither FlowInterruptedException's causes nor whether it is an actual interruption, so the
 * clock decides: our own timeout cannot fire before its deadline, and an interruption that comes earlier is someone
 * else's. A trusted library (trusted: true) is no different, so both behave the same.
 */
boolean guarded(String what, int seconds, Closure body) {
    long started = System.currentTimeMillis()
    try {
        if (seconds > 0) {
            timeout(time: seconds, unit: 'SECONDS') {
                body.call()
            }
        } else {
            body.call()
        }
        return true
    } catch (InterruptedException e) {
        long elapsed = System.currentTimeMillis() - started
        if (seconds <= 0 || elapsed < 1000L * seconds) {
            throw e
        }
        echo "${what}: stopped by its own time limit (${seconds}s); the stage is left as it was."
        return false
    } catch (Throwable e) {
        echo "${what}: could not run (${describeError(e)}); the stage is left as it was."
        return false
    }
}

/** Install (or find) earthly-doctor; returns the executable's path, or null when that was not possible. */
def install(Map args = [:]) {
    Map given = [callIndex: 0]  // installing alone is no call: the report folders stay for the calls
    given.putAll(args)
    return installFor(settings(given), [:])
}

/** The executable to run, recording in `how` which way ([via: …, image: …]); null when none could be had. */
String installFor(Map cfg, Map how) {
    if (cfg.tool) {
        how.via = 'tool'
        return cfg.tool as String
    }
    String mode = cfg.install as String
    if (mode == 'none') {
        how.via = 'path'
        return 'earthly-doctor'
    }
    if (mode == 'image') {
        return imageTool(cfg, how)
    }
    Map manifest = [:]
    if (mode == 'auto' || mode == 'resource') {
        manifest = readManifest(cfg)
        if (manifest == null || (!manifest.wheels && mode == 'resource')) {
            if (manifest != null) {
                echo("earthly-doctor: install: 'resource' but the library ships no wheels " +
                     "(${RESOURCE_DIR}/wheels.txt ${manifest.missing ? 'is missing' : 'lists none'}: " +
                     'not a release tag?)')
            }
            return null
        }
    }
    boolean bundled = manifest.wheels as boolean
    if (!bundled && !cfg.version) {
        echo('earthly-doctor: this library ships no wheels (not a release tag) and no version was given, so nothing ' +
             "pinned can be installed: load a release tag, or pass version: 'X.Y.Z' for the package index.")
        return mode == 'auto' ? imageOrNull(cfg, how) : null
    }
    String probe = pythonProbe(cfg)
    if (probe != 'ok') {
        echo "earthly-doctor: ${probe}"
        return mode == 'auto' ? imageOrNull(cfg, how) : null
    }
    how.via = 'venv'
    return bundled ? installWheels(cfg, manifest) : installIndex(cfg)
}

/** 'ok' when cfg.python is 3.11+ with venv; otherwise why not. */
String pythonProbe(Map cfg) {
    String script = """\
if ! command -v ${shq(cfg.python)} >/dev/null 2>&1; then echo 'no ${cfg.python} on this agent'; exit 0; fi
rc=0
${shq(cfg.python)} -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 3)' \\
  >/dev/null 2>&1 || rc=\$?
case \$rc in
  0) echo ok ;;
  3) v=\$(${shq(cfg.python)} -c 'import sys; print(sys.version.split()[0])')
     echo "${cfg.python} is \$v, earthly-doctor needs 3.11 or newer" ;;
  *) echo '${cfg.python} has no venv/ensurepip module' ;;
esac
"""
    return (sh(label: "${cfg.label}: python?", script: script, returnStdout: true) as String).trim()
}

String imageOrNull(Map cfg, Map how) {
    String reason = dockerProbe(cfg)
    if (reason != 'ok') {
        echo "earthly-doctor: the doctor image is no way out either: ${reason}; skipping the diagnosis."
        return null
    }
    return imageTool(cfg, how)
}

/** 'ok' when a docker CLI reaches a daemon from here; otherwise why not. */
String dockerProbe(Map cfg) {
    String script = '''\
if ! command -v docker >/dev/null 2>&1; then echo 'no docker CLI on this agent'; exit 0; fi
if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then echo ok
else echo 'the docker CLI reaches no daemon (socket)'; fi
'''
    return (sh(label: "${cfg.label}: docker?", script: script, returnStdout: true) as String).trim()
}

String imageName(Map cfg) {
    if (cfg.image) {
        return cfg.image as String
    }
    String version = (cfg.version ?: cfg.pinnedVersion) as String
    return version ? "${IMAGE_REPOSITORY}:${version}" : null
}

/** The image way: a marker the runners below turn into `docker create … IMAGE`; null without a pinned image. */
String imageTool(Map cfg, Map how) {
    if (!cfg.pinnedVersion && !cfg.version && !cfg.image) {
        readManifest(cfg)  // the pinned version comes from the release's wheels.txt
    }
    String image = imageName(cfg)
    if (!image) {
        echo "earthly-doctor: no image to run: pass image: 'earthly-doctor:X.Y.Z' or version: 'X.Y.Z'"
        return null
    }
    how.via = 'image'
    how.image = image
    return "image:${image}".toString()
}

/** The release's wheels.txt: [version: String, deps: 'bundled'|'index', wheels: [[name:, sha256:]]]; null if broken. */
Map readManifest(Map cfg) {
    String text
    try {
        text = libraryResource("${RESOURCE_DIR}/wheels.txt")
    } catch (InterruptedException e) {
        throw e
    } catch (Throwable e) {
        return [wheels: [], missing: true]
    }
    Map manifest = parseManifest(text)
    if (manifest.error) {
        echo "earthly-doctor: ${RESOURCE_DIR}/wheels.txt: ${manifest.error}; refusing to install from it."
        return null
    }
    cfg.pinnedVersion = manifest.version
    return manifest
}

/** wheels.txt: `version X`, `deps bundled|index`, then `<file>.whl sha256:<64 hex>` lines; # comments. */
@NonCPS
static Map parseManifest(String text) {
    Map manifest = [version: null, deps: 'index', wheels: [], error: null]
    for (String raw in text.readLines()) {
        String line = raw.replaceAll(/#.*/, '').trim()
        if (!line) {
            continue
        }
        List<String> parts = line.tokenize()
        String key = parts[0]
        String value = parts.size() > 1 ? parts[1] : ''
        if (key == 'version' && parts.size() == 2) {
            manifest.version = value
        } else if (key == 'deps' && value in ['bundled', 'index']) {
            manifest.deps = value
        } else if (key.endsWith('.whl') && !key.contains('/') && value.matches('sha256:[0-9a-f]{64}')) {
            (manifest.wheels as List) << [name: key, sha256: value.substring(7)]
        } else {
            String expected = '`version X`, `deps bundled|index` or `<file>.whl sha256:<hex>`'
            manifest.error = "line '${line}' is not ${expected}".toString()
        }
    }
    if (!manifest.error && (manifest.wheels as List) && !manifest.version) {
        manifest.error = 'no `version` line'
    }
    return manifest
}

/** Installs the release's bundled wheels after checking each one's sha256 against wheels.txt. */
String installWheels(Map cfg, Map manifest) {
    List<String> sums = []
    String main = null
    for (Object entry in (manifest.wheels as List)) {
        Map wheel = entry as Map
        String name = wheel.name as String
        String b64 = libraryResource(resource: "${RESOURCE_DIR}/${name}", encoding: 'Base64')
        writeFile(file: "${cfg.wheelDir}/${name}", text: b64, encoding: 'Base64')
        sums << "${wheel.sha256}  ${name}".toString()
        if (name.startsWith('earthly_doctor-')) {
            main = name
        }
    }
    if (main == null) {
        echo "earthly-doctor: ${RESOURCE_DIR}/wheels.txt lists no earthly_doctor wheel; refusing to install."
        return null
    }
    writeFile(file: "${cfg.wheelDir}/SHA256SUMS", text: sums.join('\n') + '\n', encoding: 'UTF-8')
    List<String> pip = ['--find-links', cfg.wheelDir as String]
    if (manifest.deps == 'bundled' || cfg.offline) {
        pip << '--no-index'
    }
    String verify = """\
"\$venv/bin/python" - ${shq(cfg.wheelDir)} <<'EOF'
import hashlib, os, sys
bad = []
for line in open(os.path.join(sys.argv[1], "SHA256SUMS")):
    digest, name = line.split()
    with open(os.path.join(sys.argv[1], name), "rb") as wheel:
        if hashlib.sha256(wheel.read()).hexdigest() != digest:
            bad.append(name)
if bad:
    sys.exit("earthly-doctor: sha256 mismatch (not the release's wheels): " + " ".join(bad))
EOF
"""
    return venvInstall(cfg, pip, "${cfg.wheelDir}/${main}".toString(), verify, "release ${manifest.version}")
}

/** Installs earthly-doctor==version from the index (or a mirror); with hashes, pip checks the download. */
String installIndex(Map cfg) {
    List<String> pip = []
    String requirement = "${cfg.packageName}==${cfg.version}".toString()
    String before = ''
    List<String> hashes = listOf(cfg.hashes)
    if (hashes) {
        // pip's hash-checking mode covers the distribution named with --hash; its dependencies then come by range.
        String line = requirement
        for (String h in hashes) {
            line += " --hash=${h.startsWith('sha256:') ? h : 'sha256:' + h}"
        }
        writeFile(file: "${cfg.wheelDir}/requirements.txt", text: line + '\n', encoding: 'UTF-8')
        before = "\"\$venv/bin/python\" -m pip install --disable-pip-version-check --quiet --no-deps " +
                 '--require-hashes ' +
                 "${indexArgs(cfg)}-r ${shq((cfg.wheelDir as String) + '/requirements.txt')}\n"
    }
    return venvInstall(cfg, pip, requirement, before, "${requirement} from the index")
}

String indexArgs(Map cfg) {
    return cfg.indexUrl ? "--index-url ${shq(cfg.indexUrl)} " : ''
}

String venvInstall(Map cfg, List<String> pipOptions, String requirement, String beforePip, String what) {
    List<String> pip = ['--disable-pip-version-check', '--quiet']
    pip.addAll(pipOptions)
    if (cfg.offline && !pip.contains('--no-index')) {
        pip << '--no-index'
    }
    if (cfg.indexUrl) {
        pip << '--index-url' << (cfg.indexUrl as String)
    }
    for (String extra in listOf(cfg.pipArgs)) {
        pip << extra
    }
    String venvFlags = cfg.systemSitePackages ? ' --system-site-packages' : ''
    List<String> stampParts = [requirement]
    stampParts.addAll(pip)
    stampParts.addAll(listOf(cfg.hashes))
    String stamp = stampParts.join(' ')
    String script = """\
set -eu
venv=${shq(cfg.venv)}
stamp=${shq(stamp)}
if [ ! -x "\$venv/bin/earthly-doctor" ] || [ "\$(cat "\$venv/.earthly-doctor-install" 2>/dev/null)" != "\$stamp" ]; then
  ${shq(cfg.python)} -m venv${venvFlags} "\$venv"
${beforePip}  "\$venv/bin/python" -m pip install ${shqAll(pip)} ${shq(requirement)}
  printf '%s' "\$stamp" > "\$venv/.earthly-doctor-install"
fi
"\$venv/bin/earthly-doctor" --version
"""
    int rc = sh(label: "${cfg.label}: install", script: script, returnStatus: true) as int
    if (rc != 0) {
        echo "earthly-doctor: installing ${what} into ${cfg.venv} failed (exit ${rc}); skipping the diagnosis."
        return null
    }
    return "${cfg.venv}/bin/earthly-doctor".toString()
}

// ---- the run -------------------------------------------------------------------------------------------------

void runDoctor(Map cfg, Map result) {
    Map how = [:]
    String exe = installFor(cfg, how)
    result.via = how.via
    if (exe == null) {
        result.status = 'tool-error'
        return
    }
    if (how.via == 'image') {
        echo "earthly-doctor: no usable Python here; running the image ${how.image} in this agent's namespaces."
    }
    List<Integer> codes = []
    if (cfg.diagnose) {
        String words = "diagnose --timeout ${cfg.timeout as int}".toString()
        codes << runReport(cfg, 'diagnose', exe, words, listOf(cfg.args), null, result)
    }
    String log = triageLog(cfg)
    if (log) {
        codes << runReport(cfg, 'triage', exe, 'triage', [], log, result)
    }
    if (!codes) {
        return
    }
    // A diagnosed problem outranks a command that could not finish; exit codes: 0 ok, 1 findings, 2+ errors.
    boolean problem = codes.contains(1)
    boolean broken = false
    int worst = 0
    for (Integer rc in codes) {
        broken = broken || !(rc in [0, 1])
        worst = rc < 0 ? 3 : Math.max(worst, rc)
    }
    result.status = problem ? 'problem' : broken ? 'tool-error' : 'ok'
    result.exitCode = problem ? 1 : worst
    readVerdict(result)
    if (cfg.publish) {
        publish(cfg, result)
    }
}

/** Runs one report-producing command with every format written; returns its exit code. */
int runReport(Map cfg, String name, String exe, String words, List<String> extra, String input, Map result) {
    String dir = cfg.reportDir as String
    List<String> formats = ['json', 'junit', 'warnings-ng', 'sarif', 'markdown']
    List<String> files = [name + '.json', name + '-junit.xml', name + '-issues.json', name + '.sarif', name + '.md']
    String script
    if (exe.startsWith('image:')) {
        script = imageScript(cfg, exe.substring(6), words, extra, input, formats, files)
    } else {
        String outs = ''
        for (int i = 0; i < formats.size(); i++) {
            outs += " --output ${shq(formats[i] + ':' + dir + '/' + files[i])}"
        }
        String command = "${shq(exe)} ${words}${extra ? ' ' + shqAll(extra) : ''}${input ? ' ' + shq(input) : ''}"
        script = "mkdir -p ${shq(dir)}\nNO_COLOR=1 ${command} --format text --fail-on ${shq(cfg.failOn)}${outs}\n"
    }
    int rc = sh(label: "${cfg.label}: ${name}", script: script, returnStatus: true) as int
    (result.reports as List<String>) << "${dir}/${name}.json".toString()
    if (rc > 1 || rc < 0) {
        echo "earthly-doctor ${name} could not finish (exit ${rc}); see the lines above."
    }
    return rc
}

/** The diagnosis in the doctor image: the log copied in, every report written in the container and copied out. */
String imageScript(Map cfg, String image, String words, List<String> extra, String input, List<String> formats,
                   List<String> files) {
    String dir = cfg.reportDir as String
    List<String> argv = words.tokenize()
    argv.addAll(extra)
    List<List<String>> copyIn = []
    if (input) {
        argv << '/tmp/earthly-doctor-input.log'
        copyIn << [input, '/tmp/earthly-doctor-input.log']
    }
    argv.addAll(['--format', 'text', '--fail-on', cfg.failOn as String])
    List<List<String>> copyOut = []
    for (int i = 0; i < formats.size(); i++) {
        argv << '--output' << "${formats[i]}:/tmp/${files[i]}".toString()
        copyOut << ["/tmp/${files[i]}".toString(), "${dir}/${files[i]}".toString()]
    }
    return "mkdir -p ${shq(dir)}\n" + imageRun(image, argv, copyIn, copyOut, listOf(cfg.dockerArgs), true)
}

/**
 * A script that runs the doctor image once: `docker create` (with agentNamespaces, in the network and pid
 * namespaces of this container when the agent is one, else the host's, and with the daemon's socket), the inputs
 * copied in, `docker start -a` (its output on the console, its exit code kept), the outputs copied out, the
 * container removed. No bind mount, so it works when the workspace path means nothing to the daemon.
 */
@NonCPS
static String imageRun(String image, List<String> argv, List<List<String>> copyIn, List<List<String>> copyOut,
                       List<String> dockerArgs, boolean agentNamespaces) {
    String ins = ''
    for (List<String> pair in copyIn) {
        ins += "docker cp ${shq(pair[0])} \"\$ctr:${pair[1]}\" || exit 3\n"
    }
    String outs = ''
    for (List<String> pair in copyOut) {
        outs += "docker cp \"\$ctr:${pair[0]}\" ${shq(pair[1])} || true\n"
    }
    String ns = 'ns=""\n'
    if (agentNamespaces) {
        ns = """self="\$(hostname)"
if docker inspect --type container "\$self" >/dev/null 2>&1; then
  ns="--network container:\$self --pid container:\$self -v /var/run/docker.sock:/var/run/docker.sock"
  echo "earthly-doctor: diagnosing container \$self with ${image}"
else
  ns="--network host --pid host -v /var/run/docker.sock:/var/run/docker.sock"
  echo "earthly-doctor: diagnosing this host with ${image}"
fi
"""
    }
    return """\
set +e -u
ctr="earthly-doctor-\$(od -An -N6 -tx1 /dev/urandom | tr -d ' \\n')"
${ns}trap 'docker rm -f "\$ctr" >/dev/null 2>&1 || true' EXIT
docker create --name "\$ctr" \$ns -e NO_COLOR=1 ${shqAll(dockerArgs)} ${shq(image)} ${shqAll(argv)} >/dev/null || exit 3
${ins}docker start -a "\$ctr"
rc=\$?
${outs}exit \$rc
"""
}

/** The log to triage: the `log` file, or (trusted library only) this build's console; null for none. */
String triageLog(Map cfg) {
    if (cfg.log) {
        if (fileExists(cfg.log as String)) {
            return cfg.log as String
        }
        echo "earthly-doctor: log ${cfg.log} not found; not triaging it."
        return null
    }
    if (!cfg.triage) {
        return null
    }
    if (!cfg.trusted) {
        // Reading the build's own log needs Run.getLog, which a sandboxed library must not ask admins to approve.
        echo("earthly-doctor: triage: true reads this build's log, which only a trusted (global) library may do: " +
             "pass trusted: true there, or save earthly's output with tee and pass log: 'earthly.log'.")
        return null
    }
    String path = "${cfg.reportDir}/build.log"
    writeFile(file: path, text: trustedBuildLog(cfg.triageLines as int), encoding: 'UTF-8')
    return path
}

/** This build's last lines: RunWrapper.getRawBuild is blacklisted in the sandbox, so only trusted: true gets here. */
String trustedBuildLog(int lines) {
    List<String> log = currentBuild.rawBuild.getLog(lines)
    return log.join('\n') + '\n'
}

void publish(Map cfg, Map result) {
    String dir = cfg.reportDir as String
    if (cfg.junit) {
        publishJunit(cfg, result, "${dir}/*-junit.xml".toString())
    }
    if (cfg.recordIssues) {
        attempt('recordIssues') {
            Map options = [enabledForFailure: true,
                           tool: issues(pattern: "${dir}/*-issues.json", id: cfg.issuesId, name: cfg.issuesName),
                           skipPublishingChecks: true]
            if (cfg.qualityGates) {
                options.qualityGates = cfg.qualityGates
            }
            recordIssues(options)
        }
    }
    if (cfg.archive) {
        attempt('archiveArtifacts') {
            archiveArtifacts(artifacts: "${dir}/*.json, ${dir}/*.sarif, ${dir}/*.md", allowEmptyArchive: true,
                             fingerprint: false)
        }
    }
}

/** junit never decides the result: the step does (unstable:), so neither the build nor the stage is marked here. */
void publishJunit(Map cfg, Map result, String pattern) {
    boolean done = attempt('junit') {
        junit(testResults: pattern, allowEmptyResults: true, skipMarkingBuildUnstable: true,
              skipMarkingStageUnstable: true, skipPublishingChecks: true)
    }
    if (done) {
        return
    }
    // An older junit plugin (before 1416) rejects the skip options, and its plain form marks a failing check
    // UNSTABLE: only use it when the step marks the build UNSTABLE anyway.
    if (result.status == 'problem' && cfg.unstable) {
        attempt('junit') {
            junit(testResults: pattern, allowEmptyResults: true)
        }
    } else {
        echo('earthly-doctor: this junit plugin cannot leave the result alone (skipMarkingStageUnstable needs ' +
             'junit 1416 or newer); test results not published.')
    }
}

/** Reads the verdict of the first report that has one (diagnose before triage) into the result. */
void readVerdict(Map result) {
    for (String path in (result.reports as List<String>)) {
        Map verdict = null
        boolean read = attempt("reading ${path}") {
            if (fileExists(path)) {
                verdict = verdictOf(readFile(file: path, encoding: 'UTF-8') as String)
            }
        }
        if (!read || verdict == null || (result.cause && verdict.cause in ['no-known-failure', 'unknown'])) {
            continue
        }
        result.cause = verdict.cause
        result.source = path
        result.confidence = verdict.confidence
        result.summary = verdict.summary
        result.remedies = verdict.remedies
        if (!(verdict.cause in ['healthy', 'no-known-failure', 'unknown'])) {
            return
        }
    }
}

/** The verdict of a JSON report as plain Strings and a List (JsonSlurper's LazyMap must not reach CPS code). */
@NonCPS
static Map verdictOf(String json) {
    Map report = new groovy.json.JsonSlurper().parseText(json) as Map
    Map verdict = report.verdict as Map
    if (verdict == null) {
        return null
    }
    List<String> remedies = []
    for (Object r in ((verdict.remedies ?: []) as List)) {
        remedies << String.valueOf(r)
    }
    return [cause   : verdict.cause as String, confidence: verdict.confidence as String,
            summary : verdict.summary as String, remedies: remedies]
}

void conclude(Map cfg, Map result) {
    String line = result.cause ? "earthly-doctor: ${result.cause} (${result.confidence}): ${result.summary}" : null
    List<String> remedies = result.remedies as List<String>
    if (line) {
        echo(remedies ? "${line}\nearthly-doctor: fix, best first: ${remedies.join(', ')}" : line)
    }
    if (cfg.description && line) {
        attempt('description') {
            String text = cfg.description == 'markdown' ? markdownSummary(result) : null
            String before = currentBuild.description ? "${currentBuild.description}\n" : ''
            currentBuild.description = "${before}${text ?: line}".toString()
        }
    }
    String why = null
    if (result.status == 'problem' && cfg.unstable) {
        why = "earthly-doctor: ${result.cause ?: 'a problem'} detected (see the Earthly doctor report)"
    } else if (result.status == 'tool-error' && cfg.unstableOnToolError) {
        why = 'earthly-doctor could not complete its diagnosis'
    }
    if (why) {
        attempt('unstable') {
            unstable(message: why)
        }
    }
}

/** The Markdown summary beside the report that gave the verdict (for a Markdown markup formatter); null if none. */
String markdownSummary(Map result) {
    String md = result.source ? (result.source as String).replaceAll(/\.json$/, '.md') : null
    return md && fileExists(md) ? (readFile(file: md, encoding: 'UTF-8') as String).trim() : null
}

// ---- helpers ---------------------------------------------------------------------------------------------------

/** The step's own time limit, read before settings() so that even a bad parameter is inside the protection. */
@NonCPS
static int stepSeconds(Map args) {
    Object given = args.stepTimeout
    return given instanceof Number ? (given as Number).intValue() : (DEFAULTS.stepTimeout as int)
}

Map settings(Map args) {
    Map cfg = [:]
    cfg.putAll(DEFAULTS)
    for (Object key in args.keySet()) {
        if (!DEFAULTS.containsKey(key) && key != 'callIndex') {
            echo "earthly-doctor: unknown parameter '${key}' ignored (see earthlyDoctor's help)"
        }
        cfg[key] = args[key]
    }
    if (!(cfg.install in ['auto', 'resource', 'index', 'image', 'none'])) {
        echo "earthly-doctor: install: '${cfg.install}' is not auto, resource, index, image or none; using auto"
        cfg.install = 'auto'
    }
    if (cfg.install == 'index' && !cfg.version) {
        echo "earthly-doctor: install: 'index' needs version: 'X.Y.Z' (an unpinned install is never made)"
    }
    int index = args.containsKey('callIndex') ? (args.callIndex as int) : nextCall()
    cfg.callIndex = index
    String suffix = index > 1 ? "-${index}" : ''
    cfg.reportDir = cfg.reportDir ?: "earthly-doctor${suffix}".toString()
    cfg.issuesId = cfg.issuesId ?: "earthly-doctor${suffix}".toString()
    cfg.issuesName = cfg.issuesName ?: (index > 1 ? "Earthly doctor #${index}".toString() : 'Earthly doctor')
    return cfg
}

/** A new call number for this build (earthlyBuild reserves one for its own log folder too). */
int nextCall() {
    callCount = callCount + 1
    return callCount
}

/** Runs body; an error is reported and swallowed (returns false); an interruption goes through. */
boolean attempt(String what, Closure body) {
    try {
        body.call()
        return true
    } catch (InterruptedException e) {
        throw e
    } catch (Throwable e) {
        echo "earthly-doctor: ${what} failed (${describeError(e)}); continuing."
        return false
    }
}

@NonCPS
static String describeError(Throwable e) {
    String name = e.getClass().getSimpleName()
    return e.getMessage() ? "${name}: ${e.getMessage()}".toString() : name
}

/** A list parameter given as a list, as one whitespace-separated string, or not at all; always Strings. */
@NonCPS
static List<String> listOf(Object value) {
    List<String> out = []
    if (value == null) {
        return out
    }
    if (value instanceof CharSequence) {
        return String.valueOf(value).tokenize()
    }
    for (Object item in (value as List)) {
        out << String.valueOf(item)
    }
    return out
}

@NonCPS
static String shq(Object value) {
    return "'" + String.valueOf(value).replace("'", "'\"'\"'") + "'"
}

@NonCPS
static String shqAll(List values) {
    List<String> quoted = []
    for (Object v in values) {
        quoted << shq(v)
    }
    return quoted.join(' ')
}
