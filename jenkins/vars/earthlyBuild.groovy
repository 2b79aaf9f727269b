// earthlyBuild: run an Earthly target through `earthly-doctor run` (preflight, then the build with settings that
// work here) and, when the build fails, diagnose it with earthlyDoctor, triaging the build's own output.
// The build's failure fails the stage as usual; the doctor's own problems never do (it falls back to plain earthly).

import groovy.transform.Field

@Field static final Map BUILD_DEFAULTS = [
    target           : '',          // e.g. '+image' (required)
    earthly          : 'earthly',   // or 'earth' for EarthBuild
    args             : [],          // earthly flags before the target, e.g. ['--ci', '--push']
    buildArgs        : [],          // after the target, e.g. ['--VERSION=1.2']
    preflight        : true,        // go through `earthly-doctor run` when the installed tool has it
    runArgs          : [],          // options for `earthly-doctor run`
    diagnoseOnFailure: true,        // earthlyDoctor(log: <this build's earthly output>) when earthly fails
    doctor           : [:],         // options for earthlyDoctor (install, reportDir, unstable, …)
]

/** earthlyBuild(target: '+image', args: ['--ci']) → 0, or the stage fails with "earthly +image failed (exit N)". */
def call(Map args = [:]) {
    Map cfg = [:]
    cfg.putAll(BUILD_DEFAULTS)
    cfg.putAll(args)
    if (!cfg.target) {
        error('earthlyBuild: target is required, e.g. earthlyBuild(target: \'+image\')')
    }
    Map doctor = [:]
    doctor.putAll(cfg.doctor as Map)
    String dir = (doctor.reportDir ?: 'earthly-doctor') as String
    String target = cfg.target as String

    List earthlyCmd = [cfg.earthly] + earthlyDoctor.listOf(cfg.args) + [target] + earthlyDoctor.listOf(cfg.buildArgs)
    String command = earthlyDoctor.shqAll(earthlyCmd)
    String tool = cfg.preflight ? doctorTool(doctor) : null
    if (tool) {
        command = "${earthlyDoctor.shq(tool)} run${argsOf(earthlyDoctor.listOf(cfg.runArgs))} -- ${command}"
    }
    String q = earthlyDoctor.shq(dir)
    // Keep earthly's output as a file for triage; the group's status is kept because a pipe would lose it.
    String script = """\
mkdir -p ${q}
{ set +e; ${command}; echo \$? > ${q}/earthly.rc; } 2>&1 | tee ${q}/earthly.log
exit "\$(cat ${q}/earthly.rc)"
"""
    int rc = sh(label: "earthly ${target}", script: script, returnStatus: true) as int
    if (rc != 0) {
        if (cfg.diagnoseOnFailure) {
            Map options = [log: "${dir}/earthly.log".toString()]
            if (tool) {
                options.tool = tool
            }
            options.putAll(doctor)
            earthlyDoctor(options)
        }
        error("earthly ${target} failed (exit ${rc})")
    }
    return rc
}

/** The installed earthly-doctor when it can `run`; null (plain earthly) otherwise. */
String doctorTool(Map doctor) {
    String tool = null
    try {
        tool = earthlyDoctor.install(doctor)
        if (tool && sh(label: 'earthly-doctor: run available?', script: "${earthlyDoctor.shq(tool)} run --help >/dev/null 2>&1",
                       returnStatus: true) != 0) {
            echo 'earthly-doctor: this version has no `run` command; running earthly directly.'
            return null
        }
    } catch (Throwable e) {
        if (e.getClass().name == 'org.jenkinsci.plugins.workflow.steps.FlowInterruptedException') {
            throw e
        }
        echo "earthly-doctor: preflight unavailable (${e.getClass().simpleName}: ${e.message}); running earthly directly."
        return null
    }
    if (tool == null) {
        echo 'earthly-doctor: not installed; running earthly directly.'
    }
    return tool
}

String argsOf(List values) {
    return values ? ' ' + earthlyDoctor.shqAll(values) : ''
}
