// Runs the shared-library tests: groovy tests/jenkins/run.groovy LIBRARY_DIR FIXTURES_DIR WORK_DIR TEST_FILE... [--only NAME]
// Prints `PASS name` / `FAIL name` (with the assertion) per test and ends with `N passed, M failed`; exit 1 on a failure.
// Driven by tests/integration/test_shared_library.py, which also writes the report fixtures.

if (args.length < 4) {
    System.err.println('usage: run.groovy LIBRARY_DIR FIXTURES_DIR WORK_DIR TEST_FILE... [--only NAME]')
    System.exit(2)
}
File library = new File(args[0]).canonicalFile
File fixtures = new File(args[1]).canonicalFile
File work = new File(args[2]).canonicalFile
List<String> rest = args[3..-1] as List
String only = null
int at = rest.indexOf('--only')
if (at >= 0) {
    only = rest[at + 1]
    rest = rest[0..<at] + (at + 2 < rest.size() ? rest[(at + 2)..-1] : [])
}

File here = new File(rest[0]).canonicalFile.parentFile
Class harnessClass = new GroovyClassLoader(getClass().classLoader).parseClass(new File(here, 'PipelineHarness.groovy'))

List<Map> tests = []
for (String path in rest) {
    Binding b = new Binding()
    b.setVariable('test', { String name, Closure body -> tests << [name: name, body: body, file: path] })
    b.setVariable('exampleRoot', library.parentFile.path)  // the repository: examples/ beside jenkins/
    new GroovyShell(getClass().classLoader, b).evaluate(new File(path))
}

int passed = 0
int failed = 0
int index = 0
for (Map t in tests) {
    index++
    if (only != null && t.name != only) {
        continue
    }
    File ws = new File(work, "ws-${index}")
    def h = harnessClass.newInstance(library, ws, fixtures)
    try {
        t.body.call(h)
        passed++
        println "PASS ${t.name}"
    } catch (Throwable e) {
        failed++
        println "FAIL ${t.name}"
        println e.toString().readLines().collect { "    ${it}" }.join('\n')
        StackTraceElement where = e.stackTrace.find { it.fileName && it.fileName.endsWith('.groovy') && !it.fileName.startsWith('run') }
        if (where) {
            println "    at ${where.fileName}:${where.lineNumber}"
        }
        if (h.console) {
            println '    console:'
            println h.console.takeRight(30).collect { "      | ${it}" }.join('\n')
        }
    }
}
println "${passed} passed, ${failed} failed"
System.exit(failed || (passed == 0) ? 1 : 0)
