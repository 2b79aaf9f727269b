// earthlyDoctor: install earthly-doctor into a workspace venv, diagnose why Earthly's SAVE IMAGE fails with
// `dial tcp 127.0.0.1:<port>: connect: connection refused`, and publish the result natively (JUnit, Warnings NG).
// It never fails the stage through an error of its own: at most it marks the build UNSTABLE, as asked.
// Kept to plain statements and for loops (no closures over collections) so it runs the same under CPS.

import groovy.transform.Field

@Field static final String RESOURCE_DIR = 'io/earthlydoctor'
@Field static final Map DEFAULTS = [
    reportDir          : 'earthly-doctor',     // where reports are written, relative to the workspace
    install            : 'auto',               // auto | resource | index | none
    tool               : '',                   // an earthly-doctor executable to use as is (skips installing)
    python             : 'python3',            // interpreter that creates the venv
    venv               : '.earthly-doctor/venv',
    wheelDir           : '.earthly-doctor/wheels', // where bundled wheels are unpacked
    offline            : false,                // pip --no-index: bundled wheels (built --with-deps) only
    packageName        : 'earthly-doctor',
    version            : '',                   // pin for index installs, e.g. '0.1.0'
    indexUrl           : '',                   // pip --index-url (a mirror)
    pipArgs            : [],                   // extra pip install arguments
    systemSitePackages : false,                // venv --system-site-packages (agents with the dependencies preinstalled)
    diagnose           : true,                 // run `earthly-doctor diagnose`
    triage             : false,                // triage this build's console log (trusted library only)
    log                : '',                   // triage this log file from the workspace
    triageLines        : 20000,                // last lines of this build's log to triage
    args               : [],                   // extra arguments for diagnose
    timeout            : 10,                   // diagnose --timeout, seconds
    stepTimeout        : 300,                  // the whole step (install included), seconds
    failOn             : 'fail',               // --fail-on: warn | error | fail | never
    unstable           : true,                 // mark UNSTABLE when a problem is diagnosed
    unstableOnToolError: false,                // mark UNSTABLE when earthly-doctor itself could not run
    junit              : true,
    recordIssues       : true,
    issuesId           : 'earthly-doctor',
    issuesName         : 'Earthly doctor',
    qualityGates       : [],                   // passed to recordIssues as is
    archive            : true,                 // archive the JSON, SARIF and Markdown reports
    description        : false,                // true: the verdict line into the build description; 'markdown': the summary
    label              : 'earthly-doctor',
]

/**
 * earthlyDoctor(reportDir: 'earthly-doctor', triage: true, …) → a Map:
 * [status: 'ok'|'problem'|'tool-error'|'skipped', exitCode: int, cause: String, confidence: String,
 *  summary: String, remedies: [String], reports: [String], source: the report that gave the verdict].
 */
def call(Map args = [:]) {
    Map cfg = settings(args)
    Map result = [status: 'skipped', exitCode: -1, cause: null, confidence: null, summary: null, remedies: [], reports: [],
                  source: null]
    if (!isUnix()) {
        // Earthly's proxy problem is a Linux network-namespace one, and the install and run scripts are POSIX sh.
        echo 'earthly-doctor: skipped on a non-Unix agent (run it where earthly runs, on Linux).'
        return result
    }
    try {
        timeout(time: cfg.stepTimeout as int, unit: 'SECONDS') {
            runDoctor(cfg, result)
        }
    } catch (Throwable e) {
        if (isUserAbort(e)) {
            throw e
        }
        result.status = 'tool-error'
        echo "earthly-doctor: could not run (${describeError(e)}); the stage is left as it was."
    }
    conclude(cfg, result)
    return result
}

/** Install (or find) earthly-doctor; returns the executable's path, or null when that was not possible. */
def install(Map args = [:]) {
    Map cfg = settings(args)
    if (cfg.tool) {
        return cfg.tool as String
    }
    String mode = cfg.install as String
    if (mode == 'none') {
        return 'earthly-doctor'
    }
    List wheels = []
    if (mode == 'auto' || mode == 'resource') {
        wheels = unpackWheels(cfg, mode == 'resource')
        if (wheels == null) {
            return null
        }
    }
    String exe = "${cfg.venv}/bin/earthly-doctor"
    String requirement = wheels ? mainWheel(wheels) : requirementFor(cfg)
    List pip = ['--disable-pip-version-check', '--quiet']
    if (wheels) {
        pip << '--find-links' << (cfg.wheelDir as String)
    }
    if (cfg.offline) {
        pip << '--no-index'
    }
    if (cfg.indexUrl) {
        pip << '--index-url' << (cfg.indexUrl as String)
    }
    for (Object extra in listOf(cfg.pipArgs)) {
        pip << (extra as String)
    }
    String venvFlags = cfg.systemSitePackages ? ' --system-site-packages' : ''
    String stamp = ([requirement] + pip).join(' ')
    String script = """\
set -eu
venv=${shq(cfg.venv)}
stamp=${shq(stamp)}
if [ ! -x "\$venv/bin/earthly-doctor" ] || [ "\$(cat "\$venv/.earthly-doctor-install" 2>/dev/null)" != "\$stamp" ]; then
  ${shq(cfg.python)} -m venv${venvFlags} "\$venv"
  "\$venv/bin/python" -m pip install ${shqAll(pip)} ${shq(requirement)}
  printf '%s' "\$stamp" > "\$venv/.earthly-doctor-install"
fi
"\$venv/bin/earthly-doctor" --version
"""
    int rc = sh(label: "${cfg.label}: install", script: script, returnStatus: true) as int
    if (rc != 0) {
        echo "earthly-doctor: installing ${requirement} into ${cfg.venv} failed (exit ${rc}); skipping the diagnosis."
        return null
    }
    return exe
}

// ---- the run -------------------------------------------------------------------------------------------------

void runDoctor(Map cfg, Map result) {
    String exe = install(cfg)
    if (exe == null) {
        result.status = 'tool-error'
        return
    }
    List codes = []
    if (cfg.diagnose) {
        String cmd = "${shq(exe)} diagnose --timeout ${cfg.timeout as int}${userArgs(cfg)}"
        codes << runReport(cfg, 'diagnose', cmd, result)
    }
    String log = triageLog(cfg)
    if (log) {
        codes << runReport(cfg, 'triage', "${shq(exe)} triage ${shq(log)}", result)
    }
    if (!codes) {
        return
    }
    // A diagnosed problem outranks a command that could not finish; exit codes: 0 ok, 1 findings, 2+ errors.
    boolean problem = 1 in codes
    boolean broken = false
    for (Object rc in codes) {
        broken = broken || !((rc as int) in [0, 1])
    }
    result.status = problem ? 'problem' : broken ? 'tool-error' : 'ok'
    result.exitCode = problem ? 1 : (codes.max() as int) < 0 ? 3 : codes.max() as int
    readVerdict(result)
    publish(cfg, result)
}

/** Runs one report-producing command with every format written; returns its exit code. */
int runReport(Map cfg, String name, String command, Map result) {
    String dir = cfg.reportDir as String
    List outputs = [
        "json:${dir}/${name}.json",
        "junit:${dir}/${name}-junit.xml",
        "warnings-ng:${dir}/${name}-issues.json",
        "sarif:${dir}/${name}.sarif",
        "markdown:${dir}/${name}.md",
    ]
    String outs = ''
    for (Object spec in outputs) {
        outs += " --output ${shq(spec as String)}"
    }
    String script = """\
mkdir -p ${shq(dir)}
NO_COLOR=1 ${command} --format text --fail-on ${shq(cfg.failOn)}${outs}
"""
    int rc = sh(label: "${cfg.label}: ${name}", script: script, returnStatus: true) as int
    result.reports << "${dir}/${name}.json".toString()
    if (rc > 1 || rc < 0) {
        echo "earthly-doctor ${name} could not finish (exit ${rc}); see the lines above."
    }
    return rc
}

/** The log to triage: the `log` file, or this build's console written to the report folder; null for none. */
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
    String path = "${cfg.reportDir}/build.log"
    try {
        // Run.getLog(int) needs a trusted (global) library; in a sandboxed one it is rejected and we say so.
        List lines = currentBuild.rawBuild.getLog(cfg.triageLines as int)
        writeFile(file: path, text: lines.join('\n') + '\n', encoding: 'UTF-8')
        return path
    } catch (Throwable e) {
        if (isUserAbort(e)) {
            throw e
        }
        echo "earthly-doctor: cannot read this build's log here (${describeError(e)}); pass log: 'file' instead."
        return null
    }
}

void publish(Map cfg, Map result) {
    String dir = cfg.reportDir as String
    if (cfg.junit) {
        String pattern = "${dir}/*-junit.xml"
        boolean done = attempt('junit') {
            junit(testResults: pattern, allowEmptyResults: true, skipMarkingBuildUnstable: true, skipPublishingChecks: true)
        }
        if (!done) {
            // An older junit plugin rejects the skip* options; the plain form still publishes the tests.
            attempt('junit') {
                junit(testResults: pattern, allowEmptyResults: true)
            }
        }
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

/** Reads the verdict of the first report that has one (diagnose before triage) into the result. */
void readVerdict(Map result) {
    for (Object path in result.reports) {
        try {
            if (!fileExists(path as String)) {
                continue
            }
            Map report = parseJson(readFile(file: path as String, encoding: 'UTF-8'))
            Map verdict = report.verdict as Map
            if (verdict == null || (result.cause && verdict.cause in ['no-known-failure', 'unknown'])) {
                continue
            }
            result.cause = verdict.cause
            result.source = path as String
            result.confidence = verdict.confidence
            result.summary = verdict.summary
            result.remedies = (verdict.remedies ?: []) as List
            if (!(verdict.cause in ['healthy', 'no-known-failure', 'unknown'])) {
                return
            }
        } catch (Throwable e) {
            if (isUserAbort(e)) {
                throw e
            }
            echo "earthly-doctor: could not read ${path}: ${describeError(e)}"
        }
    }
}

void conclude(Map cfg, Map result) {
    String line = result.cause ? "earthly-doctor: ${result.cause} (${result.confidence}): ${result.summary}" : null
    if (line) {
        echo(result.remedies ? "${line}\nearthly-doctor: fix, best first: ${result.remedies.join(', ')}" : line)
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
    return md && fileExists(md) ? readFile(file: md, encoding: 'UTF-8').trim() : null
}

// ---- helpers ---------------------------------------------------------------------------------------------------

Map settings(Map args) {
    Map cfg = [:]
    cfg.putAll(DEFAULTS)
    for (Object key in args.keySet()) {
        if (!DEFAULTS.containsKey(key)) {
            echo "earthly-doctor: unknown parameter '${key}' ignored (see earthlyDoctor's help)"
        }
        cfg[key] = args[key]
    }
    if (!(cfg.install in ['auto', 'resource', 'index', 'none'])) {
        echo "earthly-doctor: install: '${cfg.install}' is not auto, resource, index or none; using auto"
        cfg.install = 'auto'
    }
    return cfg
}

/** Writes the library's bundled wheels into the workspace; [] when none are bundled, null when that failed. */
List unpackWheels(Map cfg, boolean required) {
    String manifest
    try {
        manifest = libraryResource("${RESOURCE_DIR}/wheels.txt")
    } catch (Throwable e) {
        if (isUserAbort(e)) {
            throw e
        }
        if (required) {
            echo "earthly-doctor: install: 'resource' but the library ships no wheels (${RESOURCE_DIR}/wheels.txt)"
            return null
        }
        return []
    }
    List names = []
    for (Object raw in manifest.readLines()) {
        String name = (raw as String).trim()
        if (name && !name.startsWith('#')) {
            names << name
        }
    }
    List written = []
    for (Object name in names) {
        String target = "${cfg.wheelDir}/${name}"
        String b64 = libraryResource(resource: "${RESOURCE_DIR}/${name}", encoding: 'Base64')
        writeFile(file: target, text: b64, encoding: 'Base64')
        written << target
    }
    if (!written && required) {
        echo "earthly-doctor: install: 'resource' but ${RESOURCE_DIR}/wheels.txt lists no wheel"
        return null
    }
    return written
}

String requirementFor(Map cfg) {
    return cfg.version ? "${cfg.packageName}==${cfg.version}" : (cfg.packageName as String)
}

String userArgs(Map cfg) {
    Object extra = cfg.args
    if (extra instanceof CharSequence) {
        return extra ? " ${extra}" : ''
    }
    return (extra as List) ? " ${shqAll(extra as List)}" : ''
}

/** The earthly-doctor wheel among the bundled ones (the others are its dependencies). */
@NonCPS
static String mainWheel(List wheels) {
    for (Object path in wheels) {
        if ((path as String).tokenize('/').last().startsWith('earthly_doctor-')) {
            return path as String
        }
    }
    return wheels[0] as String
}

/** Runs body; an error is reported and swallowed (returns false), an abort goes through. */
boolean attempt(String what, Closure body) {
    try {
        body.call()
        return true
    } catch (Throwable e) {
        if (isUserAbort(e)) {
            throw e
        }
        echo "earthly-doctor: ${what} failed (${describeError(e)}); continuing."
        return false
    }
}

@NonCPS
static Map parseJson(String text) {
    return new groovy.json.JsonSlurperClassic().parseText(text) as Map
}

@NonCPS
static boolean isUserAbort(Throwable e) {
    // An abort (the user's, or an outer timeout) must stop the build; our own step timeout is merely swallowed.
    if (e.getClass().name != 'org.jenkinsci.plugins.workflow.steps.FlowInterruptedException') {
        return false
    }
    try {
        for (Object cause in e.causes) {
            if (cause.getClass().name.endsWith('ExceededTimeout')) {
                return false
            }
        }
    } catch (Throwable ignored) {
        // A sandbox that refuses to show the causes: treat it as the abort it most likely is.
    }
    return true
}

@NonCPS
static String describeError(Throwable e) {
    return e.message ? "${e.getClass().simpleName}: ${e.message}" : e.getClass().simpleName
}

/** A list parameter given as a list, as one whitespace-separated string, or not at all. */
@NonCPS
static List listOf(Object value) {
    if (value == null) {
        return []
    }
    if (value instanceof CharSequence) {
        return value.toString().tokenize()
    }
    return value as List
}

@NonCPS
static String shq(Object value) {
    return "'" + String.valueOf(value).replace("'", "'\"'\"'") + "'"
}

@NonCPS
static String shqAll(List values) {
    List quoted = []
    for (Object v in values) {
        quoted << shq(v)
    }
    return quoted.join(' ')
}
