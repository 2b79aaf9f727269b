// Checks every call the library's vars make against script-security's own lists (vendored beside this file), the way
// the Groovy sandbox of a folder library would: groovy tests/jenkins/sandbox/SandboxCheck.groovy LIBRARY_DIR.
//
// Each var is compiled (Groovy 2.4, as Jenkins bundles) with the static type checker switched on and an extension
// that turns what it cannot resolve (steps, globals) into dynamic calls. The checker then resolves every method,
// constructor, operator and property to the Java member it runs, as Groovy itself does. That member is named the
// way script-security names it (its declaring type is the topmost supertype that declares it, cf.
// GroovyCallSiteSelector.visitTypes) and must be on generic-whitelist or jenkins-whitelist (or annotated; see
// annotated-whitelist) and not on the blacklist. A call the checker cannot resolve is an error too, unless it is a
// known pipeline step or global, a method of the library's own scripts, or an explicitly trusted-only call.
// Prints one line per problem and `N calls checked, M problems`; exit 1 on a problem.

import groovy.transform.Field
import org.codehaus.groovy.ast.*
import org.codehaus.groovy.ast.expr.*
import org.codehaus.groovy.ast.stmt.*
import org.codehaus.groovy.classgen.GeneratorContext
import org.codehaus.groovy.control.*
import org.codehaus.groovy.control.customizers.ASTTransformationCustomizer
import org.codehaus.groovy.control.customizers.ImportCustomizer
import org.codehaus.groovy.transform.stc.ExtensionMethodNode
import org.codehaus.groovy.transform.stc.StaticTypesMarker
import groovy.transform.TypeChecked

if (args.length < 1) {
    System.err.println('usage: SandboxCheck.groovy LIBRARY_DIR [VAR_FILE...]')
    System.exit(2)
}
File here = new File(getClass().protectionDomain.codeSource.location.path).parentFile
File lists = new File(System.getenv('SANDBOX_LISTS') ?: here.path)
File library = new File(args[0])
List<File> sources = args.length > 1 ? args[1..-1].collect { new File(it) }
    : (new File(library, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort())

Set<String> allowed = [] as Set
Set<String> blocked = [] as Set
for (String name in ['generic-whitelist', 'jenkins-whitelist', 'annotated-whitelist']) {
    allowed.addAll(readList(new File(lists, name)))
}
blocked.addAll(readList(new File(lists, 'blacklist')))
Map<String, String> steps = [:]
new File(lists, 'steps.txt').eachLine { String line ->
    line = line.trim()
    if (line && !line.startsWith('#')) {
        List parts = line.tokenize()
        steps[parts[0]] = parts.size() > 1 ? parts[1] : ''
    }
}
Set<String> varNames = new File(library, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }*.name.collect { it - '.groovy' } as Set

List<String> problems = []
int checked = 0
for (File source in sources) {
    Map r = checkFile(source, allowed, blocked, steps, varNames, lists)
    problems.addAll(r.problems as List)
    checked += r.checked as int
}
problems.each { println it }
println "${checked} calls checked, ${problems.size()} problems"
System.exit(problems ? 1 : 0)

static Set<String> readList(File f) {
    Set<String> out = [] as Set
    f.eachLine { String line ->
        String s = line.replaceAll(/#.*/, '').trim()
        if (s) {
            out << s.replaceAll(/\s+/, ' ')
        }
    }
    return out
}

static Map checkFile(File source, Set<String> allowed, Set<String> blocked, Map<String, String> steps, Set<String> varNames,
                     File lists) {
    CompilerConfiguration config = new CompilerConfiguration()
    config.addCompilationCustomizers(new ImportCustomizer().addImports('com.cloudbees.groovy.cps.NonCPS'))
    config.addCompilationCustomizers(new ASTTransformationCustomizer(
        [extensions: ['DynamicSteps.groovy']], TypeChecked))
    GroovyClassLoader gcl = new GroovyClassLoader(SandboxCheck.classLoader, config)
    gcl.addClasspath(lists.path)  // the type-checking extension is found as a class-path resource
    gcl.parseClass('''package com.cloudbees.groovy.cps
        import java.lang.annotation.*
        @Retention(RetentionPolicy.RUNTIME) @Target([ElementType.METHOD]) @interface NonCPS {}''')
    // Jenkins classes a var may name, with the members workflow-step-api gives them (none is whitelisted).
    gcl.parseClass('''package org.jenkinsci.plugins.workflow.steps
        class FlowInterruptedException extends InterruptedException {
            List getCauses() { [] }
            boolean isActualInterruption() { true }
        }''')
    CompilationUnit cu = new CompilationUnit(config, null, gcl)
    cu.addSource(source)
    List<String> problems = []
    int[] checked = [0]
    String scriptClass = null
    cu.addPhaseOperation(new CompilationUnit.PrimaryClassNodeOperation() {
        @Override
        void call(SourceUnit su, GeneratorContext ctx, ClassNode cn) {
            scriptClass = scriptClass ?: cn.name
            Walker w = new Walker(su: su, allowed: allowed, blocked: blocked, steps: steps, varNames: varNames,
                                  own: cn, problems: problems, file: source.name)
            for (MethodNode m in cn.methods) {
                w.method = m
                m.code?.visit(w)
            }
            for (FieldNode f in cn.fields) {
                f.initialExpression?.visit(w)
            }
            checked[0] += w.checked
        }
    }, Phases.CLASS_GENERATION)
    try {
        cu.compile(Phases.CLASS_GENERATION)
    } catch (CompilationFailedException e) {
        problems << "${source.name}: does not compile under the type checker used for this check:\n${e.message}".toString()
    }
    return [problems: problems, checked: checked[0]]
}

/** Visits every call of one method body and names the member it reaches the way script-security does. */
class Walker extends CodeVisitorSupport {
    SourceUnit su
    Set<String> allowed
    Set<String> blocked
    Map<String, String> steps
    Set<String> varNames
    ClassNode own
    MethodNode method
    List<String> problems
    String file
    int checked = 0
    // Globals Jenkins binds for every Pipeline script (workflow-cps and workflow-support), reached as properties.
    static final Set<String> GLOBALS = ['env', 'currentBuild', 'params', 'scm', 'docker'] as Set
    static final Set<String> COMPARISONS = ['==', '!=', '<', '>', '<=', '>=', '<=>', '===', '!=='] as Set
    // The classes SandboxInterceptor looks in for a GDK method (its DGM_CLASSES); any whitelisted one lets it through.
    static final List<String> DGM_CLASSES = ['org.codehaus.groovy.runtime.DefaultGroovyMethods',
        'org.codehaus.groovy.runtime.StringGroovyMethods', 'org.codehaus.groovy.runtime.EncodingGroovyMethods',
        'org.codehaus.groovy.runtime.DateGroovyMethods', 'org.codehaus.groovy.runtime.ProcessGroovyMethods']

    /** The member the type checker resolved; null for what it left dynamic (a step, a global, an untyped receiver). */
    static MethodNode resolved(Expression e) {
        if (e.getNodeMetaData(StaticTypesMarker.DYNAMIC_RESOLUTION)) {
            return null
        }
        return e.getNodeMetaData(StaticTypesMarker.DIRECT_METHOD_CALL_TARGET) as MethodNode
    }

    List<ClassNode> argTypes(Expression args) {
        List<ClassNode> out = []
        if (args instanceof TupleExpression) {
            for (Expression a in ((TupleExpression) args).expressions) {
                out << receiverType(a)
            }
        }
        return out
    }

    static Class load(ClassNode t) {
        if (t == null) {
            return Object
        }
        if (ClassHelper.isPrimitiveType(t)) {
            return ClassHelper.getWrapper(t).typeClass
        }
        try {
            return t.isArray() ? java.lang.reflect.Array.newInstance(load(t.componentType), 0).getClass()
                : Class.forName(t.name, false, Walker.classLoader)
        } catch (Throwable ignored) {
            return Object
        }
    }

    /**
     * A GDK method (receiver.name(args) found in DefaultGroovyMethods & co): as SandboxInterceptor does, the most
     * specific applicable method of each DGM class is looked at; one whitelisted is enough.
     */
    void requireGdk(ASTNode node, String name, List<ClassNode> types) {
        List<Class> args = types.collect { load(it) }
        List<String> candidates = []
        for (String dgm in DGM_CLASSES) {
            java.lang.reflect.Method best = null
            for (java.lang.reflect.Method m in Class.forName(dgm).methods) {
                if (m.name != name || m.parameterTypes.length != args.size()
                        || !java.lang.reflect.Modifier.isStatic(m.modifiers)) {
                    continue
                }
                boolean applicable = true
                for (int i = 0; i < args.size(); i++) {
                    applicable = applicable && wrap(m.parameterTypes[i]).isAssignableFrom(args[i])
                }
                if (applicable && (best == null || moreSpecific(m, best))) {
                    best = m
                }
            }
            if (best != null) {
                candidates << "staticMethod ${dgm} ${name} ${best.parameterTypes.collect { typeName(it) }.join(' ')}".toString().trim()
            }
        }
        checked++
        if (!candidates) {
            problem(node, "no GDK method ${name}(${args*.name.join(', ')})")
        } else if (!candidates.any { it in allowed && !(it in blocked) } && !trusted(node)) {
            problem(node, "not whitelisted: ${candidates[0]}")
        }
    }

    static Class wrap(Class c) {
        return c.isPrimitive() ? ClassHelper.getWrapper(ClassHelper.make(c)).typeClass : c
    }

    static boolean moreSpecific(java.lang.reflect.Method a, java.lang.reflect.Method b) {
        for (int i = 0; i < a.parameterTypes.length; i++) {
            if (!wrap(b.parameterTypes[i]).isAssignableFrom(wrap(a.parameterTypes[i]))) {
                return false
            }
        }
        return true
    }

    static String typeName(Class c) {
        return c.isArray() ? typeName(c.componentType) + '[]' : c.name
    }

    void problem(ASTNode node, String what) {
        if (trusted(node) && what.startsWith('cannot see')) {
            return  // inside the explicit trusted branch, past the blacklisted entry point the checker reported on
        }
        problems << "${file}:${node.lineNumber}: ${what}".toString()
    }

    /** Whether the sandbox lets this signature through: listed (allowed) and not blacklisted. */
    void require(ASTNode node, String signature) {
        checked++
        String sig = signature.replaceAll(/\s+/, ' ')
        if (sig in blocked) {
            if (!trusted(node)) {
                problem(node, "blacklisted: ${sig} (allowed only in a method named trusted…, reached only with trusted: true)")
            }
        } else if (!(sig in allowed)) {
            if (!trusted(node)) {
                problem(node, "not whitelisted: ${sig}")
            }
        }
    }

    /** A trusted-only call is allowed in a method whose name starts with `trusted` (reached only when cfg.trusted). */
    boolean trusted(ASTNode node) {
        return method?.name?.startsWith('trusted')
    }

    static String typeName(ClassNode t) {
        if (t.isArray()) {
            return typeName(t.componentType) + '[]'
        }
        return ClassHelper.getWrapper(t).isDerivedFrom(ClassHelper.Number_TYPE) && ClassHelper.isPrimitiveType(t) ? t.name : t.name
    }

    static String params(Parameter[] ps) {
        return ps.collect { typeName(it.type) }.join(' ')
    }

    /** The topmost supertype that declares name(params), as GroovyCallSiteSelector picks it; the class itself if none. */
    static ClassNode topmost(ClassNode c, String name, Parameter[] ps) {
        ClassNode found = declaring(c, name, ps, true)
        return found ?: c
    }

    private static ClassNode declaring(ClassNode c, String name, Parameter[] ps, boolean start) {
        if (c == null) {
            return null
        }
        ClassNode s = c.superClass
        ClassNode up = s ? declaring(s, name, ps, false) : null
        if (up) {
            return up
        }
        for (ClassNode i in c.interfaces) {
            ClassNode fromI = declaring(i, name, ps, false)
            if (fromI) {
                return fromI
            }
        }
        MethodNode m = c.getDeclaredMethod(name, ps)
        return (m != null && !m.isStatic()) ? c : null
    }

    String memberSignature(MethodNode target) {
        if (target instanceof ExtensionMethodNode) {
            MethodNode ext = ((ExtensionMethodNode) target).extensionMethodNode
            return "staticMethod ${ext.declaringClass.name} ${ext.name} ${params(ext.parameters)}".trim()
        }
        if (target instanceof ConstructorNode) {
            return "new ${target.declaringClass.name} ${params(target.parameters)}".trim()
        }
        if (target.isStatic()) {
            return "staticMethod ${target.declaringClass.name} ${target.name} ${params(target.parameters)}".trim()
        }
        ClassNode decl = topmost(target.declaringClass, target.name, target.parameters)
        return "method ${decl.name} ${target.name} ${params(target.parameters)}".trim()
    }

    boolean ownMember(MethodNode target) {
        return target.declaringClass == own || target.declaringClass.name == own.name
    }

    void checkTarget(Expression call, MethodNode target) {
        if (ownMember(target)) {
            return  // the library's own code: its class loader is trusted by the sandbox (ClassLoaderWhitelist)
        }
        if (target.declaringClass.name == 'groovy.lang.Closure' && target.name == 'call') {
            checked++
            return  // calling a closure the library made (attempt's body): GroovySandbox allows Closure.call
        }
        require(call, memberSignature(target))
    }

    @Override
    void visitMethodCallExpression(MethodCallExpression call) {
        MethodNode target = resolved(call)
        String name = call.methodAsString
        if (call.lineNumber < 0) {
            // generated by the compiler (the overloads of a method with default arguments): no call of the library's
        } else if (target instanceof ExtensionMethodNode) {
            requireGdk(call, name, [receiverType(call.objectExpression)] + argTypes(call.arguments))
        } else if (target != null) {
            checkTarget(call, target)
        } else if (call.implicitThis) {
            checked++
            if (!steps.containsKey(name) && !(name in varNames)) {
                problem(call, "unknown step or method ${name}() (add it to steps.txt with its plugin if it is a step)")
            }
        } else if (call.objectExpression instanceof VariableExpression
                   && ((VariableExpression) call.objectExpression).name in varNames) {
            checked++  // another var of this library (earthlyDoctor.install(…)): library code again
        } else if (rootedAtDocker(call.objectExpression)) {
            checked++  // docker-workflow's global and its Image: the plugin's own CPS script (docker.image(…).inside)
        } else {
            problem(call, "cannot see what .${name}() calls: give its receiver a type (e.g. `as String`)")
        }
        super.visitMethodCallExpression(call)
    }

    static boolean rootedAtDocker(Expression e) {
        if (e instanceof VariableExpression) {
            return ((VariableExpression) e).name == 'docker'
        }
        return e instanceof MethodCallExpression && rootedAtDocker(((MethodCallExpression) e).objectExpression)
    }

    @Override
    void visitStaticMethodCallExpression(StaticMethodCallExpression call) {
        MethodNode target = resolved(call)
        if (target != null) {
            checkTarget(call, target)
        } else if (call.ownerType == own || call.ownerType.name == own.name) {
            checked++
        } else {
            problem(call, "unresolved static call ${call.ownerType.name}.${call.method}()")
        }
        super.visitStaticMethodCallExpression(call)
    }

    @Override
    void visitConstructorCallExpression(ConstructorCallExpression call) {
        MethodNode target = resolved(call)
        // Without a resolved constructor the class declares none: its default one is called.
        require(call, target != null ? memberSignature(target) : "new ${call.type.name}".toString())
        super.visitConstructorCallExpression(call)
    }

    @Override
    void visitBinaryExpression(BinaryExpression expr) {
        MethodNode target = resolved(expr)
        String op = expr.operation.text
        if (op in COMPARISONS) {
            // ==, !=, <, … go through ScriptBytecodeAdapter's comparisons, which groovy-sandbox does not route
            // through the whitelist as method calls.
        } else if (op in ['+', '-', '*', '/', '%'] && numeric(receiverType(expr.leftExpression))
                   && numeric(receiverType(expr.rightExpression))) {
            checked++  // Number arithmetic: SandboxInterceptor lets NUMBER_MATH_NAMES on a Number through
        } else if (op == 'in') {
            // `a in b` is b.isCase(a)
            requireGdk(expr, 'isCase', [receiverType(expr.rightExpression), receiverType(expr.leftExpression)])
        } else if (target instanceof ExtensionMethodNode) {
            requireGdk(expr, target.name, [receiverType(expr.leftExpression), receiverType(expr.rightExpression)])
        } else if (target != null) {
            checkTarget(expr, target)
        } else if (!(op in ['=', '[', '&&', '||', '?:', 'instanceof']) && expr.lineNumber > 0) {
            problem(expr, "cannot see what the operator ${op} calls: give both sides a type")
        }
        if (expr.operation.text == '[' ) {
            ClassNode recv = receiverType(expr.leftExpression)
            if (recv == null) {
                problem(expr, 'cannot see what [] indexes: give it a type')
            } else if (recv.implementsInterface(ClassHelper.MAP_TYPE) || recv == ClassHelper.MAP_TYPE) {
                require(expr, 'staticMethod org.codehaus.groovy.runtime.DefaultGroovyMethods getAt java.util.Map java.lang.Object')
            } else if (recv.implementsInterface(ClassHelper.LIST_TYPE) || recv == ClassHelper.LIST_TYPE) {
                require(expr, 'staticMethod org.codehaus.groovy.runtime.DefaultGroovyMethods getAt java.util.List int')
            } else if (recv.isArray()) {
                checked++  // array element: the sandbox allows reading arrays
            } else {
                problem(expr, "[] on ${recv.name}")
            }
        }
        super.visitBinaryExpression(expr)
    }

    ClassNode receiverType(Expression e) {
        ClassNode t = e.getNodeMetaData(StaticTypesMarker.INFERRED_TYPE) as ClassNode
        if (t == null && e instanceof VariableExpression) {
            Variable v = ((VariableExpression) e).accessedVariable
            t = v?.originType
        }
        if (t == null && e instanceof GStringExpression) {
            t = ClassHelper.GSTRING_TYPE
        }
        return t ?: e.type
    }

    static boolean numeric(ClassNode t) {
        return t != null && (ClassHelper.isPrimitiveType(t) || ClassHelper.getWrapper(t).isDerivedFrom(ClassHelper.Number_TYPE))
    }

    @Override
    void visitPropertyExpression(PropertyExpression expr) {
        Expression recvExpr = expr.objectExpression
        String prop = expr.propertyAsString
        ClassNode recv = receiverType(recvExpr)
        if (recvExpr instanceof VariableExpression && (((VariableExpression) recvExpr).name in GLOBALS)) {
            String g = ((VariableExpression) recvExpr).name
            // env.X: EnvActionImpl's getProperty/setProperty (jenkins-whitelist); currentBuild.X: RunWrapper's
            // annotated getters/setters (annotated-whitelist); params.X: a Map.
            Map<String, String> globals = [env: 'method groovy.lang.GroovyObject getProperty java.lang.String',
                                           params: 'method java.util.Map get java.lang.Object']
            require(expr, globals[g] ?: "method org.jenkinsci.plugins.workflow.support.steps.build.RunWrapper ${getter(prop)}")
        } else if (recvExpr instanceof ClassExpression) {
            checked++  // a constant of a class
        } else if (recvExpr instanceof VariableExpression && ((VariableExpression) recvExpr).name in varNames) {
            checked++
        } else if (recv == null || recv == ClassHelper.OBJECT_TYPE || recv == ClassHelper.DYNAMIC_TYPE) {
            problem(expr, "cannot see what .${prop} reads: give its receiver a type")
        } else if (recv == ClassHelper.MAP_TYPE || recv.implementsInterface(ClassHelper.MAP_TYPE)) {
            require(expr, 'method java.util.Map get java.lang.Object')
        } else {
            MethodNode g = recv.getGetterMethod(getter(prop)) ?: recv.getGetterMethod('is' + prop.capitalize())
            if (g == null) {
                ClassNode c = recv
                while (g == null && c != null) {
                    g = c.getDeclaredMethod(getter(prop), Parameter.EMPTY_ARRAY)
                    c = c.superClass
                }
            }
            if (g == null) {
                problem(expr, "no getter for .${prop} on ${recv.name}")
            } else {
                checkTarget(expr, g)
            }
        }
        super.visitPropertyExpression(expr)
    }

    static String getter(String prop) {
        return 'get' + prop.capitalize()
    }
}
