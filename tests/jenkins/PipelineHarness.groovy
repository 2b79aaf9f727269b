// A stand-in for the Jenkins pipeline around a shared library's vars/*.groovy, for Debian's groovy 2.4 (the version
// Jenkins bundles). It binds the steps the library calls as closures that record every call, runs `sh` from scripted
// rules (or for real in a workspace folder), and mirrors what the steps do to the build (unstable, error, …).
// Limits: no CPS transform and no script-security sandbox, so those classes of bugs are not caught here.

import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

class PipelineHarness {
    // Classes Jenkins provides that the library refers to by name; compiled once into the shared loader.
    static final List STUBS = [
        '''package com.cloudbees.groovy.cps
           import java.lang.annotation.*
           @Retention(RetentionPolicy.RUNTIME) @Target([ElementType.METHOD]) @interface NonCPS {}''',
        '''package org.jenkinsci.plugins.workflow.libs
           import java.lang.annotation.*
           @Retention(RetentionPolicy.SOURCE) @interface Library { String[] value() }''',
        '''package hudson
           class AbortException extends IOException { AbortException(String m) { super(m) } }''',
        '''package jenkins.model
           class CauseOfInterruption { static class UserInterruption extends CauseOfInterruption { } }''',
        '''package org.jenkinsci.plugins.workflow.steps
           class TimeoutStepExecution {
               static class ExceededTimeout extends jenkins.model.CauseOfInterruption {
                   String nodeId
                   ExceededTimeout(String nodeId) { this.nodeId = nodeId }
               }
           }''',
        // As in workflow-step-api: no message, the causes, and whether it is an actual interruption.
        '''package org.jenkinsci.plugins.workflow.steps
           class FlowInterruptedException extends InterruptedException {
               List causes
               boolean actualInterruption = true
               FlowInterruptedException(List causes) { super(); this.causes = causes }
           }''',
        '''package org.jenkinsci.plugins.scriptsecurity.sandbox
           class RejectedAccessException extends SecurityException { RejectedAccessException(String m) { super(m) } }''',
    ]
    static GroovyClassLoader loader

    File library
    File resources
    File workspace
    File fixtures
    List<Map> calls = []
    List<String> console = []
    Map env = [:]
    List<Map> shRules = []
    boolean realShell = false
    int realShellTimeoutSeconds = 120
    Set<String> missingSteps = [] as Set
    Map<String, Integer> failingSteps = [:]  // step -> how many of its next calls throw (-1: all)
    // Active `timeout` blocks, innermost last: [id:, deadline: ms]. A step that runs past one's deadline is interrupted
    // the way TimeoutStepExecution does it: FlowInterruptedException(ExceededTimeout(id)); that timeout's own
    // callback marks it as no actual interruption and rethrows it (workflow-basic-steps a789b07).
    List<Map> timeouts = []
    int timeoutIds = 0
    Integer abortAtSh = null             // the Nth sh call is aborted by a user (FlowInterruptedException, UserInterruption)
    Boolean unix = true                  // what isUnix() answers; null: no node context (post of `agent none`)
    boolean rawBuildRead = false         // whether currentBuild.rawBuild was touched
    // The fleet: nodesByLabel's answers, one workspace per node (node(name) switches to it), and the stashes.
    Map<String, List<String>> labels = [:]
    File controllerWorkspace
    Map<String, Map<String, byte[]>> stashes = [:]
    // What the agent answers to the step's probes when no rule says otherwise: a usable Python, no docker CLI.
    String pythonAnswer = 'ok'
    String dockerAnswer = 'no docker CLI on this agent'
    List<String> buildLog = null         // currentBuild.rawBuild.getLog(n); null = sandboxed (rejected)
    Expando currentBuild = new Expando(result: null, description: null, number: 7, rawBuild: null)
    Binding binding = new Binding()
    Map<String, Script> vars = [:]

    PipelineHarness(File library, File workspace, File fixtures) {
        this.library = library
        this.resources = new File(library, 'resources')
        this.workspace = workspace
        this.controllerWorkspace = workspace
        this.fixtures = fixtures
        workspace.mkdirs()
        env.WORKSPACE = workspace.absolutePath
        env.BUILD_NUMBER = '7'
        env.JOB_NAME = 'folder/job'
        currentBuild.rawBuild = new Expando(getLog: { int n ->
            rawBuildRead = true
            if (buildLog == null) {
                throw classFor('org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException')
                    .newInstance('Scripts not permitted to use method hudson.model.Run getLog int')
            }
            return buildLog.size() > n ? buildLog.subList(buildLog.size() - n, buildLog.size()) : buildLog
        })
        bindSteps()
    }

    static synchronized GroovyClassLoader sharedLoader() {
        if (loader == null) {
            loader = new GroovyClassLoader(PipelineHarness.classLoader)
            for (String stub in STUBS) {
                loader.parseClass(stub)
            }
        }
        return loader
    }

    static Class classFor(String name) {
        return Class.forName(name, true, sharedLoader())
    }

    /** Loads vars/NAME.groovy as Jenkins would: one instance, steps and the other vars visible through the binding. */
    Script load(String name) {
        if (vars.isEmpty()) {
            // Jenkins offers every var of the library at once; load the others first so they can call each other.
            for (File f in new File(library, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort()) {
                loadOne(f.name - '.groovy')
            }
        }
        return loadOne(name)
    }

    private Script loadOne(String name) {
        if (vars[name] == null) {
            CompilerConfiguration config = new CompilerConfiguration()
            config.addCompilationCustomizers(new ImportCustomizer().addImports('com.cloudbees.groovy.cps.NonCPS'))
            GroovyShell shell = new GroovyShell(sharedLoader(), binding, config)
            Script script = shell.parse(new File(library, "vars/${name}.groovy"))
            vars[name] = script
            // A var is called like a step (`earthlyDoctor(...)`) and used like an object (`earthlyDoctor.install()`).
            binding.setVariable(name, script)
            for (Script other in vars.values()) {
                other.metaClass."${name}" = { Object... args -> script.invokeMethod('call', args) }
            }
            for (String known in vars.keySet()) {
                Script target = vars[known]
                script.metaClass."${known}" = { Object... args -> target.invokeMethod('call', args) }
            }
        }
        return vars[name]
    }

    /** Runs a Jenkinsfile (Declarative through the Declarative runner below, or Scripted) against the stub steps. */
    Object runJenkinsfile(File jenkinsfile) {
        load(new File(library, 'vars').listFiles().find { it.name.endsWith('.groovy') }.name - '.groovy')
        CompilerConfiguration config = new CompilerConfiguration()
        config.addCompilationCustomizers(new ImportCustomizer().addImports('org.jenkinsci.plugins.workflow.libs.Library'))
        // Jenkins compiles every Jenkinsfile as class WorkflowScript (file names like a-b.Jenkinsfile are no class names).
        Script script = new GroovyShell(sharedLoader(), binding, config).parse(jenkinsfile.getText('UTF-8'), 'WorkflowScript')
        for (String known in vars.keySet()) {
            Script target = vars[known]
            script.metaClass."${known}" = { Object... args -> target.invokeMethod('call', args) }
        }
        binding.setVariable('pipeline', { Closure body -> new Declarative(this, script).run(body) })
        return script.run()
    }

    // ---- scripting `sh` --------------------------------------------------------------------------------------

    /** The first rule whose pattern is found in the script answers it: exit code, stdout, and a side effect. */
    PipelineHarness onSh(Object pattern, Object rc, String stdout = '', Closure effect = null) {
        shRules << [pattern: pattern, rc: rc, stdout: stdout, effect: effect]
        return this
    }

    /** Acts like earthly-doctor: writes fixtures/NAME.FORMAT to every `--output 'FORMAT:PATH'` of the script. */
    PipelineHarness fakeDoctor(Object pattern, int rc, String fixture) {
        return onSh(pattern, rc, '') { String script ->
            def outputs = (script =~ /--output '([a-z-]+):([^']+)'/)
            for (m in outputs) {
                File source = new File(fixtures, "${fixture}.${m[1]}")
                File target = file(m[2] as String)
                target.parentFile.mkdirs()
                target.bytes = source.bytes
            }
        }
    }

    /**
     * Acts like the doctor image run by the step (docker create … IMAGE …; docker start -a; docker cp out): each
     * `docker cp "$ctr:/tmp/NAME" 'DEST'` of the script gets fixtures/<fixture>.<format of NAME>.
     */
    PipelineHarness fakeImage(Object pattern, int rc, String fixture) {
        return onSh(pattern, rc, '') { String script ->
            def copies = (script =~ ('docker cp "\\$ctr:/tmp/([^"]+)" \'([^\']+)\''))
            for (m in copies) {
                String name = m[1] as String
                String format = name.endsWith('-junit.xml') ? 'junit' : name.endsWith('-issues.json') ? 'warnings-ng'
                    : name.endsWith('.sarif') ? 'sarif' : name.endsWith('.md') ? 'markdown' : 'json'
                File target = file(m[2] as String)
                target.parentFile.mkdirs()
                target.bytes = new File(fixtures, "${fixture}.${format}").bytes
            }
        }
    }

    /** Makes the library's resources a release's: wheels.txt (version, deps, sha256 per wheel) and the wheels. */
    PipelineHarness fakeRelease(String version, Map<String, byte[]> wheels = null, String deps = 'index') {
        Map<String, byte[]> files = wheels ?: [("earthly_doctor-${version}-py3-none-any.whl".toString()): [80, 75, 3, 4] as byte[]]
        File res = new File(workspace, '.release-resources/io/earthlydoctor')
        res.mkdirs()
        List<String> lines = ["# earthly-doctor ${version}: wheels for the Jenkins library (jenkins/bundle-wheels.sh)".toString(),
                              "version ${version}".toString(), "deps ${deps}".toString()]
        files.each { String name, byte[] bytes ->
            new File(res, name).bytes = bytes
            lines << "${name} sha256:${java.security.MessageDigest.getInstance('SHA-256').digest(bytes).encodeHex()}".toString()
        }
        new File(res, 'wheels.txt').text = lines.join('\n') + '\n'
        resources = new File(workspace, '.release-resources')
        return this
    }

    File file(String path) {
        File f = new File(path)
        return f.absolute ? f : new File(workspace, path)
    }

    // ---- what the test reads -----------------------------------------------------------------------------------

    List<Map> calls(String step) {
        return calls.findAll { it.step == step }
    }

    Map call(String step) {
        List<Map> found = calls(step)
        assert found.size() == 1: "expected one ${step} call, got ${found.size()}: ${calls*.step}"
        return found[0]
    }

    List<String> steps() {
        return calls*.step
    }

    String consoleText() {
        return console.join('\n')
    }

    // ---- the steps --------------------------------------------------------------------------------------------

    private Object record(String step, Object args) {
        calls << [step: step, args: plain(args)]
        Integer left = failingSteps[step]
        if (left != null && left != 0) {
            failingSteps[step] = left - 1
            throw new IllegalStateException("${step} failed on purpose")
        }
        return null
    }

    /** GStrings become Strings, so tests compare with == against literals. */
    static Object plain(Object value) {
        if (value instanceof GString) {
            return value.toString()
        }
        if (value instanceof Map) {
            Map out = [:]
            value.each { k, v -> out[plain(k)] = plain(v) }
            return out
        }
        if (value instanceof List) {
            return value.collect { plain(it) }
        }
        return value
    }

    private void bind(String name, Closure body) {
        if (name in missingSteps) {
            binding.variables.remove(name)  // calling it then fails like an uninstalled plugin's step
        } else {
            binding.setVariable(name, body)
        }
    }

    /** (Re)binds every step; call again after changing missingSteps. */
    void bindSteps() {
        binding.setVariable('env', env)
        binding.setVariable('currentBuild', currentBuild)
        binding.setVariable('params', [:])
        bind('echo') { Object msg -> record('echo', msg); console << String.valueOf(msg) }
        bind('sh') { Object arg -> sh(arg) }
        bind('error') { Object msg ->
            record('error', msg)
            throw classFor('hudson.AbortException').newInstance(String.valueOf(msg))
        }
        bind('unstable') { Object arg ->
            record('unstable', arg)
            String msg = arg instanceof Map ? arg.message : arg
            assert msg: 'unstable needs a message'
            console << "WARNING: ${msg}".toString()
            if (currentBuild.result == null || currentBuild.result == 'SUCCESS') {
                currentBuild.result = 'UNSTABLE'
            }
        }
        bind('junit') { Object arg -> record('junit', arg instanceof Map ? arg : [testResults: arg]) }
        bind('issues') { Map arg -> [tool: 'issues'] + plain(arg) }
        bind('recordIssues') { Map arg -> record('recordIssues', arg) }
        bind('archiveArtifacts') { Object arg -> record('archiveArtifacts', arg instanceof Map ? arg : [artifacts: arg]) }
        bind('fileExists') { Object arg ->
            record('fileExists', arg)
            return file(arg instanceof Map ? arg.file : arg as String).exists()
        }
        bind('readFile') { Object arg ->
            record('readFile', arg)
            return file(arg instanceof Map ? arg.file : arg as String).getText('UTF-8')
        }
        bind('writeFile') { Map arg ->
            record('writeFile', [file: arg.file, encoding: arg.encoding, length: String.valueOf(arg.text).length()])
            File f = file(arg.file as String)
            f.parentFile.mkdirs()
            if (arg.encoding == 'Base64') {
                f.bytes = Base64.decoder.decode(String.valueOf(arg.text))
            } else {
                f.setText(String.valueOf(arg.text), 'UTF-8')
            }
        }
        bind('libraryResource') { Object arg ->
            record('libraryResource', arg)
            String path = arg instanceof Map ? arg.resource : arg
            File f = new File(resources, path)
            if (!f.isFile()) {
                throw classFor('hudson.AbortException').newInstance("No such library resource ${path} could be found.")
            }
            return (arg instanceof Map && arg.encoding == 'Base64') ? Base64.encoder.encodeToString(f.bytes) : f.getText('UTF-8')
        }
        bind('timeout') { Map arg, Closure body ->
            record('timeout', arg)
            long unit = [SECONDS: 1000L, MINUTES: 60000L, HOURS: 3600000L][arg.unit ?: 'MINUTES'] as long
            Map t = [id: "timeout-${++timeoutIds}".toString(), deadline: System.currentTimeMillis() + (arg.time as long) * unit]
            timeouts << t
            try {
                return body.call()
            } catch (InterruptedException e) {
                if (e.hasProperty('causes') && e.causes.any { it.hasProperty('nodeId') && it.nodeId == t.id }) {
                    e.actualInterruption = false
                }
                throw e
            } finally {
                timeouts.remove(t)
            }
        }
        bind('withEnv') { List vars, Closure body -> record('withEnv', vars); body.call() }
        bind('node') { Object... args ->
            String name = args.length > 1 ? String.valueOf(args[0]) : null
            record('node', name)
            File before = workspace
            if (name != null && labels.values().flatten().contains(name)) {
                workspace = new File(controllerWorkspace, "node-${name}")  // each agent has its own workspace
                workspace.mkdirs()
            }
            try {
                return (args[-1] as Closure).call()
            } finally {
                workspace = before
            }
        }
        bind('nodesByLabel') { Map arg ->
            record('nodesByLabel', arg)
            return new ArrayList(labels[arg.label as String] ?: [])
        }
        bind('parallel') { Map branches ->
            record('parallel', branches.keySet() as List)
            Throwable first = null
            branches.each { k, v ->  // Jenkins runs them at once; here one after the other, every branch to its end
                try {
                    (v as Closure).call()
                } catch (Throwable e) {
                    first = first ?: e
                }
            }
            if (first != null) {
                throw first
            }
        }
        bind('stash') { Map arg ->
            record('stash', arg)
            String glob = arg.includes as String
            String regex = glob.replace('.', '\\.').replace('**', '\u0000').replace('*', '[^/]*').replace('\u0000', '.*')
            Map<String, byte[]> files = [:]
            workspace.eachFileRecurse(groovy.io.FileType.FILES) { File f ->
                String rel = workspace.toPath().relativize(f.toPath()).toString()
                if (rel ==~ regex) {
                    files[rel] = f.bytes
                }
            }
            if (!files && !arg.allowEmpty) {
                throw classFor('hudson.AbortException').newInstance('No files included in stash ‘' + arg.name + '’')
            }
            stashes[arg.name as String] = files
        }
        bind('unstash') { Object arg ->
            record('unstash', arg)
            Map<String, byte[]> files = stashes[String.valueOf(arg)]
            if (files == null) {
                throw classFor('hudson.AbortException').newInstance("No such saved stash ‘${arg}’".toString())
            }
            files.each { String rel, byte[] bytes ->
                File f = new File(workspace, rel)
                f.parentFile.mkdirs()
                f.bytes = bytes
            }
        }
        bind('stage') { String name, Closure body -> record('stage', name); body.call() }
        bind('checkout') { Object arg -> record('checkout', String.valueOf(arg)) }
        binding.setVariable('scm', 'scm')
        binding.setVariable('docker', new Expando(image: { String name ->
            new Expando(inside: { String args, Closure body ->
                record('docker.inside', [image: name, args: args])
                body.call()
            })
        }))
        bind('isUnix') { ->
            record('isUnix', null)
            if (unix == null) {
                // What DSL says when a step needs a Launcher outside `node` (post of an `agent none` Pipeline).
                throw new IllegalStateException('Required context class hudson.Launcher is missing\n' +
                    'Perhaps you forgot to surround the isUnix step with a step that provides this, such as: node')
            }
            return unix
        }
        bind('catchError') { Map arg, Closure body ->
            record('catchError', arg)
            try {
                body.call()
            } catch (Exception e) {
                console << "ERROR: ${arg.message ?: e.message}".toString()
                currentBuild.result = arg.buildResult ?: 'FAILURE'
            }
        }
    }

    static Throwable interruption(Object cause) {
        return classFor('org.jenkinsci.plugins.workflow.steps.FlowInterruptedException').newInstance([[cause]] as Object[]) as Throwable
    }

    static Object exceededTimeout(String id) {
        return classFor('org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution$ExceededTimeout').newInstance(id)
    }

    /** After a step: the earliest timeout whose deadline has passed interrupts it, as its timer would have. */
    private void checkDeadlines() {
        long now = System.currentTimeMillis()
        Map fired = timeouts.findAll { now >= (it.deadline as long) }.min { it.deadline as long }
        if (fired != null) {
            console << 'Cancelling nested steps due to timeout'
            throw interruption(exceededTimeout(fired.id as String))
        }
    }

    private Object sh(Object arg) {
        Map args = arg instanceof Map ? arg : [script: arg]
        record('sh', args)
        if (abortAtSh != null && calls('sh').size() == abortAtSh) {
            console << 'Aborted by admin'
            throw interruption(classFor('jenkins.model.CauseOfInterruption$UserInterruption').newInstance())
        }
        String script = String.valueOf(args.script)
        Map rule = shRules.find { r -> r.pattern instanceof java.util.regex.Pattern ? script =~ r.pattern : script.contains(String.valueOf(r.pattern)) }
        int rc
        String stdout
        if (rule != null) {
            if (rule.effect != null) {
                rule.effect.call(script)
            }
            rc = (rule.rc instanceof Closure ? rule.rc.call(script) : rule.rc) as int
            stdout = rule.stdout as String
        } else if (!realShell && script.contains('import sys, venv, ensurepip')) {
            rc = 0
            stdout = pythonAnswer + '\n'
        } else if (!realShell && script.contains("docker version --format")) {
            rc = 0
            stdout = dockerAnswer + '\n'
        } else if (realShell) {
            List result = runShell(script, args.returnStdout as boolean)
            rc = result[0] as int
            stdout = result[1] as String
        } else {
            throw new IllegalStateException("no sh rule for script:\n${script}".toString())
        }
        if (!args.returnStdout) {
            console.addAll(stdout.readLines())
        }
        checkDeadlines()
        if (args.returnStatus) {
            return rc
        }
        if (rc != 0) {
            throw classFor('hudson.AbortException').newInstance("script returned exit code ${rc}".toString())
        }
        return args.returnStdout ? stdout : null
    }

    /** `sh` for real, as Jenkins runs it (`sh -xe`), in the workspace, bounded in time. */
    private List runShell(String script, boolean stdoutOnly = false) {
        ProcessBuilder pb = new ProcessBuilder(['sh', '-xe', '-c', script])
        pb.directory(workspace)
        // returnStdout captures stdout only; the -x trace and stderr go to the log, as with the durable task.
        pb.redirectErrorStream(!stdoutOnly)
        if (stdoutOnly) {
            pb.redirectError(ProcessBuilder.Redirect.INHERIT)
        }
        env.each { k, v -> pb.environment().put(k as String, v as String) }
        Process p = pb.start()
        StringBuilder out = new StringBuilder()
        Thread reader = Thread.start { out.append(p.inputStream.getText('UTF-8')) }
        if (!p.waitFor(realShellTimeoutSeconds, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly()
            reader.join(5000)
            throw new IllegalStateException("sh did not finish within ${realShellTimeoutSeconds}s:\n${script}\n${out}".toString())
        }
        reader.join(5000)
        return [p.exitValue(), out.toString()]
    }
}


/** Just enough of Declarative Pipeline to run the examples: agent/environment/stages/steps/when/post, in order. */
class Declarative {
    PipelineHarness h
    Script script
    Map pipelineAgent = null
    List<Map> stages = []
    Map<String, Closure> post = [:]

    Declarative(PipelineHarness h, Script script) {
        this.h = h
        this.script = script
    }

    Object run(Closure body) {
        Section top = new Section(script)
        top.capture(body)
        pipelineAgent = top.values.agent
        if (top.values.environment) {
            h.env.putAll(top.values.environment)
        }
        h.calls << [step: 'pipeline.agent', args: pipelineAgent]
        String result = 'SUCCESS'
        for (Map stage in top.stages) {
            if (result != 'SUCCESS') {
                h.console << "Stage \"${stage.name}\" skipped due to earlier failure(s)".toString()
                continue
            }
            Map when = stage.section.values.when as Map
            if (when?.branch && when.branch != h.env.BRANCH_NAME) {
                h.console << "Stage \"${stage.name}\" skipped due to when conditional".toString()
                continue
            }
            h.calls << [step: 'stage', args: stage.name]
            if (stage.section.values.environment) {
                h.env.putAll(stage.section.values.environment)
            }
            try {
                (stage.section.values.steps as Closure).call()
            } catch (IOException e) {
                h.console << "ERROR: ${e.message}".toString()
                result = 'FAILURE'
                h.currentBuild.result = 'FAILURE'
            }
        }
        for (String when in ['always', result.toLowerCase(), 'cleanup']) {
            Closure block = top.post[when]
            if (block != null) {
                block.call()
            }
        }
        h.currentBuild.result = h.currentBuild.result ?: result
        return h.currentBuild.result
    }
}

/** A Declarative section body: records directives; `steps`/`post` blocks are kept to run against the script. */
class Section {
    Script script
    Map values = [:]
    List<Map> stages = []
    Map<String, Closure> post = [:]

    Section(Script script) {
        this.script = script
    }

    void capture(Closure body) {
        body.delegate = this
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.call()
    }

    void agent(Object spec) {
        values.agent = spec instanceof Closure ? Recorder.of(spec) : [(String.valueOf(spec)): true]
    }

    void environment(Closure body) {
        Map env = [:]
        body.delegate = env
        body.resolveStrategy = Closure.DELEGATE_ONLY
        body.call()
        values.environment = env.collectEntries { k, v -> [(k): String.valueOf(v)] }
    }

    void options(Closure body) { values.options = Recorder.of(body) }

    void when(Closure body) { values.when = Recorder.of(body) }

    void stages(Closure body) { capture(body) }

    void stage(String name, Closure body) {
        Section section = new Section(script)
        section.capture(body)
        stages << [name: name, section: section]
    }

    void steps(Closure body) {
        body.delegate = script
        body.resolveStrategy = Closure.DELEGATE_FIRST
        values.steps = body
    }

    void post(Closure body) {
        Recorder conditions = new Recorder(keepClosures: true)
        body.delegate = conditions
        body.resolveStrategy = Closure.DELEGATE_ONLY
        body.call()
        conditions.values.each { String k, Object v ->
            Closure block = v as Closure
            block.delegate = script
            block.resolveStrategy = Closure.DELEGATE_FIRST
            post[k] = block
        }
    }

    Object propertyMissing(String name) { name }  // `agent any`, `agent none`
}

/** Records `name value` and `name { … }` directives into a Map (nested blocks become nested Maps). */
class Recorder {
    Map values = [:]
    boolean keepClosures = false

    static Map of(Closure body) {
        Recorder r = new Recorder()
        body.delegate = r
        body.resolveStrategy = Closure.DELEGATE_ONLY
        body.call()
        return r.values
    }

    Object methodMissing(String name, Object args) {
        Object[] list = args as Object[]
        Object value = list.length == 1 ? list[0] : list as List
        if (value instanceof Closure && !keepClosures) {
            value = of(value as Closure)
        }
        values[name] = value
        return null
    }

    Object propertyMissing(String name) { name }
}
