// What the sandbox rejects, one call per line (the calls an earlier earthlyDoctor made): SandboxCheck must report
// each of them, so the check is known to be able to fail. Never loaded as a library.

def call(Map args = [:]) {
    List<Integer> codes = [0, 1]
    int worst = codes.max()
    Map report = new groovy.json.JsonSlurperClassic().parseText('{}') as Map
    try {
        sh 'true'
    } catch (org.jenkinsci.plugins.workflow.steps.FlowInterruptedException e) {
        echo "${e.causes}"
    }
    List<String> log = currentBuild.rawBuild.getLog(10)
    Object untyped = args.anything
    untyped.trim()
    shh 'a step that does not exist'
    return [worst, report, log]
}
