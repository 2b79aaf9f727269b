// Tests of vars/earthlyDoctorFleet.groovy in the PipelineHarness: nodesByLabel names the nodes, parallel runs a
// branch per node (one after the other here), each node has its own workspace, stash/unstash carry the reports back
// to the node that merges. `earthly-doctor merge` is a stand-in that writes what each --format asks for.

/** The merge stand-in: `merge A B --format text --output 'F:T'…` writes "F: A B" to each T (the reports it got). */
def fakeMerge = { h, int rc = 0 ->
    h.onSh(' merge ', rc, 'NODE  VERDICT') { String script ->
        String inputs = (script =~ /merge ((?:'[^']+' ?)+)--format/)[0][1]
        for (report in (inputs =~ /'([^']+)'/)) {
            assert h.file(report[1] as String).text.contains('"verdict"'): "merge got a report that is not here: ${report[1]}"
        }
        for (m in (script =~ /--output '([a-z]+):([^']+)'/)) {
            File target = h.file(m[2] as String)
            target.parentFile.mkdirs()
            target.text = "${m[1]}: ${inputs.trim()}".toString()
        }
    }
}

test('the fleet: every online node with the label is diagnosed in parallel, the reports merged and published once') { h ->
    h.labels = [docker: ['agent-1', 'agent 2']]
    // agent-1 has the problem, agent 2 is healthy: the same command, told apart by the node's own report folder.
    h.fakeDoctor(~/ diagnose --timeout.*fleet\/agent-1\//, 1, 'failing')
    h.fakeDoctor(~/ diagnose --timeout.*fleet\/agent_2\//, 0, 'healthy')
    fakeMerge(h)
    Map fleet = h.load('earthlyDoctorFleet').call(label: 'docker', doctor: [install: 'none'])

    assert h.call('nodesByLabel').args == [label: 'docker']
    assert h.call('parallel').args == ['agent-1', 'agent 2']
    assert h.calls('node')*.args == ['agent-1', 'agent 2']
    assert h.calls('stash')*.args == [
        [name: 'earthly-doctor-fleet-0', includes: 'earthly-doctor-fleet/agent-1/*.json', allowEmpty: true],
        [name: 'earthly-doctor-fleet-1', includes: 'earthly-doctor-fleet/agent_2/*.json', allowEmpty: true]]
    assert h.calls('unstash')*.args == ['earthly-doctor-fleet-0', 'earthly-doctor-fleet-1']
    // Each node wrote into its own workspace; the merging node has both reports only through unstash.
    assert new File(h.controllerWorkspace, 'node-agent-1/earthly-doctor-fleet/agent-1/diagnose.json').isFile()
    assert fleet.reports == ['earthly-doctor-fleet/agent-1/diagnose.json', 'earthly-doctor-fleet/agent_2/diagnose.json']
    String merge = h.calls('sh').find { it.args.label == 'earthly-doctor: merge' }.args.script
    assert merge.contains("merge 'earthly-doctor-fleet/agent-1/diagnose.json' 'earthly-doctor-fleet/agent_2/diagnose.json' --format text")
    for (String out in ['text:earthly-doctor-fleet/fleet.txt', 'markdown:earthly-doctor-fleet/fleet.md',
                        'json:earthly-doctor-fleet/fleet.json', 'junit:earthly-doctor-fleet/fleet-junit.xml']) {
        assert merge.contains("--output '${out}'")
    }
    assert h.file('earthly-doctor-fleet/fleet.md').text.startsWith('markdown: ')
    assert fleet.nodes == ['agent-1': 'problem', 'agent 2': 'ok'] && fleet.status == 'problem'
    assert fleet.merged == 'earthly-doctor-fleet/fleet.md'
    // Published once, merged: no per-node junit or Warnings NG, no per-node UNSTABLE; one UNSTABLE naming the node.
    assert h.call('junit').args == [testResults: 'earthly-doctor-fleet/fleet-junit.xml', allowEmptyResults: true,
        skipMarkingBuildUnstable: true, skipMarkingStageUnstable: true, skipPublishingChecks: true]
    assert h.calls('recordIssues').isEmpty()
    assert h.call('unstable').args.message == 'earthly-doctor: a problem was diagnosed on agent-1 (see the fleet table)'
    assert h.consoleText().contains('earthlyDoctorFleet: 2 node(s): agent-1 problem, agent 2 ok')
}

test('the fleet in docker agents: each branch runs the diagnosis inside docker.image(…).inside(…) on its node') { h ->
    h.labels = [docker: ['a', 'b']]
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    fakeMerge(h)
    Map fleet = h.load('earthlyDoctorFleet').call(label: 'docker', docker: [image: 'python:3.12-slim', args: '-v /var/run/docker.sock:/var/run/docker.sock'],
                                                  doctor: [install: 'none'])
    assert h.calls('docker.inside')*.args == [[image: 'python:3.12-slim', args: '-v /var/run/docker.sock:/var/run/docker.sock']] * 2
    List order = h.steps().findAll { it in ['node', 'docker.inside', 'sh', 'stash'] }
    assert order.take(4) == ['node', 'docker.inside', 'sh', 'stash']
    assert fleet.status == 'ok' && h.calls('unstable').isEmpty()
}

test('no online node with the label: said, nothing scheduled') { h ->
    h.labels = [docker: []]
    Map fleet = h.load('earthlyDoctorFleet').call(label: 'docker')
    assert fleet.status == 'skipped' && h.calls('parallel').isEmpty()
    assert h.consoleText().contains("no online node has the label 'docker'")
}

test('a node that could not run the diagnosis is reported; the others are merged') { h ->
    h.labels = [docker: ['good', 'bad']]
    h.fakeDoctor(~/ diagnose --timeout.*fleet\/good\//, 0, 'healthy')
    h.onSh(~/ diagnose --timeout.*fleet\/bad\//, 3, 'earthly-doctor: internal error')
    fakeMerge(h)
    Map fleet = h.load('earthlyDoctorFleet').call(label: 'docker', doctor: [install: 'none'])
    assert fleet.nodes == [good: 'ok', bad: 'tool-error'] && fleet.status == 'tool-error'
    assert fleet.reports == ['earthly-doctor-fleet/good/diagnose.json']
    assert h.calls('unstable').isEmpty()
}

test('a merge that cannot finish leaves the reports archived unmerged, never an error') { h ->
    h.labels = [docker: ['a']]
    h.fakeDoctor(~/ diagnose --timeout/, 1, 'failing')
    fakeMerge(h, 3)
    Map fleet = h.load('earthlyDoctorFleet').call(label: 'docker', doctor: [install: 'none'])
    assert fleet.merged == null && fleet.status == 'problem'
    assert h.consoleText().contains('earthlyDoctorFleet: merge could not finish (exit 3); the reports are archived unmerged.')
    assert h.call('archiveArtifacts').args.artifacts.startsWith('earthly-doctor-fleet/**/*.json')
    assert h.calls('junit').isEmpty() && h.calls('error').isEmpty()
}

test('an abort in one branch stops the fleet (parallel rethrows it)') { h ->
    h.labels = [docker: ['a', 'b']]
    h.abortAtSh = 1
    h.fakeDoctor(~/ diagnose /, 0, 'healthy')
    boolean aborted = false
    try {
        h.load('earthlyDoctorFleet').call(label: 'docker', doctor: [install: 'none'])
    } catch (InterruptedException e) {
        aborted = true
    }
    assert aborted && h.calls('unstash').isEmpty()
}
