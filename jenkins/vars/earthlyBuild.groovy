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
    // This call's own folder (and Warnings NG id): a second earthlyBuild in the build keeps the first's reports.
    int index = earthlyDoctor.nextCall() as int
    doctor.callIndex = index
    String dir = (doctor.reportDir ?: (index > 1 ? "earthly-doctor-${index}" : 'earthly-doctor')) as String
    doctor.reportDir = dir
    String target = cfg.target as String

    List<String> earthlyCmd = [cfg.earthly as String]
    earthlyCmd.addAll(earthlyDoctor.listOf(cfg.args) as List<String>)
    earthlyCmd << target
    earthlyCmd.addAll(earthlyDoctor.listOf(cfg.buildArgs) as List<String>)
    String command = earthlyDoctor.shqAll(earthlyCmd) as String
    String tool = cfg.preflight ? doctorTool(doctor) : null
    if (tool) {
        String runArgs = argsOf(earthlyDoctor.listOf(cfg.runArgs) as List<String>)
        command = "${earthlyDoctor.shq(tool)} run${runArgs} -- ${command}"
    }
    String q = earthlyDoctor.shq(dir) as String
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

/**
 * The installed earthly-doctor when it can `run`; null (plain earthly) otherwise. The install is bounded by the
 * doctor's stepTimeout like earthlyDoctor's own; an abort or an enclosing timeout goes through.
 */
String doctorTool(Map doctor) {
    String tool = null
    String note = 'not installed'
    int seconds = earthlyDoctor.stepSeconds(doctor) as int
    boolean done = earthlyDoctor.guarded('earthly-doctor preflight', seconds) {
        String found = earthlyDoctor.install(doctor) as String
        if (found && found.startsWith('image:')) {
            note = 'only the doctor image can run here, and `run` must wrap earthly in this agent'
        } else if (found && (sh(label: 'earthly-doctor: run available?', returnStatus: true,
                                script: "${earthlyDoctor.shq(found)} run --help >/dev/null 2>&1") as int) != 0) {
            note = 'this version has no `run` command'
        } else {
            tool = found
        }
    }
    if (tool == null) {
        echo "earthly-doctor: ${done ? note : 'preflight unavailable'}; running earthly directly."
    }
    return tool
}

String argsOf(List<String> values) {
    return values ? ' ' + earthlyDoctor.shqAll(values) : ''
}
