// earthlyDoctorFleet: the diagnosis on every online node with a label, in parallel, merged into one table.
// Jenkins does the distributing: nodesByLabel (pipeline-utility-steps) names the online nodes, parallel runs one
// branch per node (each in a docker agent when asked), stash/unstash bring the reports back, and
// `earthly-doctor merge` folds them into one table that is published once.

import groovy.transform.Field

@Field static final Map FLEET_DEFAULTS = [
    label      : '',                       // required: the node label, e.g. 'docker'
    docker     : [:],                      // [image:, args:]: each diagnosis in docker.image(image).inside(args)
    doctor     : [:],                      // earthlyDoctor options for every node (install, version, image, args, …)
    reportDir  : 'earthly-doctor-fleet',   // <reportDir>/<node>/diagnose.json, and the merged fleet.* here
    unstable   : true,                     // mark UNSTABLE when any node has a problem diagnosed
    junit      : true,
    archive    : true,
]

/**
 * earthlyDoctorFleet(label: 'docker') → [status: 'ok'|'problem'|'tool-error'|'skipped', nodes: [name: status],
 * reports: [the JSON reports merged], merged: the Markdown table's path or null].
 * Call it inside a `node` (the merge runs there): `node { earthlyDoctorFleet(label: 'docker') }`.
 */
def call(Map args = [:]) {
    Map cfg = [:]
    cfg.putAll(FLEET_DEFAULTS)
    cfg.putAll(args)
    Map fleet = [status: 'skipped', nodes: [:], reports: [], merged: null]
    if (!cfg.label) {
        echo "earthlyDoctorFleet: label is required, e.g. earthlyDoctorFleet(label: 'docker')"
        return fleet
    }
    List<String> names = []
    for (Object n in (nodesByLabel(label: cfg.label as String) as List)) {
        names << String.valueOf(n)
    }
    if (!names) {
        echo "earthlyDoctorFleet: no online node has the label '${cfg.label}'; nothing to diagnose."
        return fleet
    }
    Map nodes = fleet.nodes as Map
    Map branches = [:]
    for (int i = 0; i < names.size(); i++) {
        String name = names[i]
        String stashName = "earthly-doctor-fleet-${i}".toString()
        String dir = "${cfg.reportDir}/${safeName(name)}".toString()
        nodes[name] = 'tool-error'
        branches[name] = {
            node(name) {
                nodes[name] = diagnoseHere(cfg, dir, stashName)
            }
        }
    }
    parallel(branches)

    List<String> reports = fleet.reports as List<String>
    for (int i = 0; i < names.size(); i++) {
        String dir = "${cfg.reportDir}/${safeName(names[i])}".toString()
        String stashName = "earthly-doctor-fleet-${i}".toString()
        boolean back = earthlyDoctor.attempt("unstash of ${names[i]}") {
            unstash(stashName)
        }
        if (back && fileExists("${dir}/diagnose.json")) {
            reports << "${dir}/diagnose.json".toString()
        }
    }
    fleet.merged = reports ? merge(cfg, reports) : null
    fleet.status = fleetStatus(nodes)
    echo "earthlyDoctorFleet: ${names.size()} node(s): ${describe(nodes)}"
    if (fleet.status == 'problem' && cfg.unstable) {
        earthlyDoctor.attempt('unstable') {
            unstable(message: "earthly-doctor: a problem was diagnosed on ${problemNodes(nodes)} (see the fleet table)")
        }
    }
    return fleet
}

/** One node's diagnosis (inside its docker agent when asked): reports written, stashed; returns its status. */
String diagnoseHere(Map cfg, String dir, String stashName) {
    Map options = [:]
    options.putAll(cfg.doctor as Map)
    options.reportDir = dir
    options.publish = false
    options.unstable = false
    options.description = false
    Map result = null
    Map agent = cfg.docker as Map
    if (agent && agent.image) {
        docker.image(agent.image as String).inside((agent.args ?: '') as String) {
            result = earthlyDoctor(options) as Map
        }
    } else {
        result = earthlyDoctor(options) as Map
    }
    stash(name: stashName, includes: "${dir}/*.json", allowEmpty: true)
    return (result?.status ?: 'tool-error') as String
}

/** `earthly-doctor merge` of the reports into fleet.{txt,md,json} and fleet-junit.xml; the Markdown's path or null. */
String merge(Map cfg, List<String> reports) {
    Map how = [:]
    Map options = [:]
    options.putAll(cfg.doctor as Map)
    options.callIndex = 0
    String exe = earthlyDoctor.installFor(earthlyDoctor.settings(options), how) as String
    if (exe == null) {
        echo 'earthlyDoctorFleet: earthly-doctor is not available on this node; the reports are archived unmerged.'
        archiveReports(cfg)
        return null
    }
    String dir = cfg.reportDir as String
    Map<String, String> outputs = ['text'    : 'fleet.txt', 'markdown': 'fleet.md', 'json': 'fleet.json',
                                   'junit'   : 'fleet-junit.xml']
    String script
    if (exe.startsWith('image:')) {
        // The image needs no namespace of the agent to merge: only the reports, copied in, and the tables, out.
        List<String> argv = ['merge']
        List<List<String>> copyIn = []
        for (int i = 0; i < reports.size(); i++) {
            String inside = "/tmp/report-${i}.json".toString()
            argv << inside
            copyIn << [reports[i], inside]
        }
        List<List<String>> copyOut = []
        argv.addAll(['--format', 'text'])
        for (String format in outputs.keySet()) {
            argv << '--output' << "${format}:/tmp/${outputs[format]}".toString()
            copyOut << ["/tmp/${outputs[format]}".toString(), "${dir}/${outputs[format]}".toString()]
        }
        script = earthlyDoctor.imageRun(exe.substring(6), argv, copyIn, copyOut, [], false) as String
    } else {
        String outs = ''
        for (String format in outputs.keySet()) {
            outs += " --output ${earthlyDoctor.shq(format + ':' + dir + '/' + outputs[format])}"
        }
        script = "NO_COLOR=1 ${earthlyDoctor.shq(exe)} merge ${earthlyDoctor.shqAll(reports)} --format text${outs}\n"
    }
    // merge exits 1 when an agent needs action, 2 on a report it cannot read.
    int rc = sh(label: 'earthly-doctor: merge', script: script, returnStatus: true) as int
    if (rc > 1 || rc < 0) {
        echo "earthlyDoctorFleet: merge could not finish (exit ${rc}); the reports are archived unmerged."
        archiveReports(cfg)
        return null
    }
    if (cfg.junit) {
        earthlyDoctor.attempt('junit') {
            junit(testResults: "${dir}/fleet-junit.xml", allowEmptyResults: true, skipMarkingBuildUnstable: true,
                  skipMarkingStageUnstable: true, skipPublishingChecks: true)
        }
    }
    archiveReports(cfg)
    return "${dir}/fleet.md".toString()
}

void archiveReports(Map cfg) {
    if (cfg.archive) {
        earthlyDoctor.attempt('archiveArtifacts') {
            archiveArtifacts(artifacts: "${cfg.reportDir}/**/*.json, ${cfg.reportDir}/*.md, ${cfg.reportDir}/*.txt",
                             allowEmptyArchive: true, fingerprint: false)
        }
    }
}

/** 'problem' when any node has one; else 'tool-error' when any could not run; else 'ok'. */
@NonCPS
static String fleetStatus(Map nodes) {
    Collection statuses = nodes.values()
    return statuses.contains('problem') ? 'problem' : statuses.contains('tool-error') ? 'tool-error' : 'ok'
}

@NonCPS
static String describe(Map nodes) {
    List<String> parts = []
    for (Object name in nodes.keySet()) {
        parts << "${name} ${nodes.get(name)}".toString()
    }
    return parts.join(', ')
}

@NonCPS
static String problemNodes(Map nodes) {
    List<String> found = []
    for (Object name in nodes.keySet()) {
        if (nodes.get(name) == 'problem') {
            found << String.valueOf(name)
        }
    }
    return found.join(', ')
}

/** A node name as a folder name. */
@NonCPS
static String safeName(String name) {
    return name.replaceAll('[^A-Za-z0-9._-]', '_')
}
