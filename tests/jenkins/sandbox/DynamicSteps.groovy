// Type-checking extension for SandboxCheck.groovy: what the checker cannot resolve statically (pipeline steps,
// globals such as env and currentBuild, other vars) becomes a dynamic call; SandboxCheck then judges those by name.
unresolvedVariable { VariableExpression var ->
    makeDynamic(var)
}
unresolvedProperty { pexp ->
    makeDynamic(pexp)
}
unresolvedAttribute { aexp ->
    makeDynamic(aexp)
}
methodNotFound { receiver, name, argList, argTypes, call ->
    makeDynamic(call)
}
// A value from a step or a Map is Object: assigning it to a typed local is a runtime cast (allowed by the sandbox).
incompatibleAssignment { lhsType, rhsType, expr ->
    if (rhsType == OBJECT_TYPE || rhsType == DYNAMIC_TYPE || rhsType.name == 'java.lang.Object') {
        handled = true
    }
}
