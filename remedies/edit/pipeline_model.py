"""Where each step of a Jenkinsfile runs, and which steps run Earthly: what the remedies target.

A step (`sh`/`bat` string) runs in the innermost of: a `docker.image(…).inside`/`withDockerContainer` closure, a
Kubernetes `container('x')` block, the agent of its stage (or matrix, or pipeline), a `podTemplate`, a function
definition (then: wherever it is called), or the node. A step runs Earthly when its script calls `earthly`/`earth`,
a wrapper such as `./earthly.sh`, or `docker run`s an earthly/EarthBuild image (then Earthly runs in that new
container, not in the step's own); a container started from an earthly image runs Earthly whatever its steps say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from earthly_doctor.remedies.edit import shell
from earthly_doctor.remedies.edit.groovy import Tree

STEPS = {"sh", "bat"}
WRAPPER = re.compile(r"(?:^|(?<=[\s;&|(]))(?:\S*/)?earthly[\w.-]*\.sh(?=\s|$)", re.M)  # ./earthly.sh, ci/earthly-ci.sh
CONTAINER_KINDS = ("docker-agent", "dockerfile-agent", "inside", "withDockerContainer")  # args the editor can change
POD_KINDS = ("container", "kubernetes-agent", "pod")  # a pod spec, print-only


@dataclass(frozen=True)
class Runner:
    """Where a step's shell runs. `block` is the agent block (agents) or the closure (inside, container…)."""

    # node, function, docker-agent, dockerfile-agent, inside, withDockerContainer, container, kubernetes-agent, pod
    kind: str
    block: int | None
    line: int
    where: str  # where earthly then runs, for a person: "on the node (agent any, line 3)", "in the docker agent (…)"


@dataclass
class Step:
    tok: int  # the string token of the script
    line: int
    runner: Runner
    commands: list[shell.Command] = field(default_factory=list)  # earthly/earth in the step's own shell
    runs: list[shell.Command] = field(default_factory=list)  # `docker run` of an earthly image
    wrappers: list[str] = field(default_factory=list)  # ./earthly.sh and the like

    @property
    def runs_earthly(self) -> bool:
        return bool(self.commands or self.runs or self.wrappers)


class PipelineModel:
    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self._runner_cache: dict[int | None, Runner] = {}
        self.steps: list[Step] = []
        for i in tree.call_strings(STEPS):
            body = tree.toks[i].body
            step = Step(i, tree.line(i), self.runner_of(i))
            step.commands = shell.earthly_commands(body)
            step.runs = shell.earthly_runs(body) if "docker" in body else []
            step.wrappers = [m.group(0) for m in WRAPPER.finditer(body)]
            self.steps.append(step)

    def steps_in(self, within: range | None = None) -> list[Step]:
        return [s for s in self.steps if within is None or s.tok in within]

    def earthly_steps(self, within: range | None = None) -> list[Step]:
        return [s for s in self.steps_in(within) if s.runs_earthly]

    def earthly_image_runners(self) -> list[Runner]:
        """Containers started from an earthly image (`docker.image('earthly/earthly:…').inside`, a docker agent's
        `image`): they run earthly whatever their steps look like (a script, a shared-library call)."""
        found: dict[int, Runner] = {}
        for b, blk in enumerate(self.tree.blocks):
            runner = None
            if blk.name in ("inside", "withDockerContainer"):
                runner = self._own_runner(b)
            elif blk.name == "agent" and blk.parent is not None:
                runner = self._agent(blk.parent)
            if runner is not None and runner.block is not None and runner.kind in ("docker-agent", "inside",
                                                                                   "withDockerContainer"):
                image = self.image_of(runner)
                if image is not None and shell.is_earthly_image(image):
                    found[runner.block] = runner
        return list(found.values())

    def image_of(self, runner: Runner) -> str | None:
        """The image a container runner starts, when the file spells it as a plain string."""
        tree = self.tree
        toks = tree.toks
        if runner.block is None:
            return None
        blk = tree.blocks[runner.block]
        if runner.kind == "docker-agent":
            docker = tree.child(runner.block, "docker")
            direct = tree.direct_tokens(docker if docker is not None else runner.block)
            for pos, i in enumerate(direct[:-1]):
                nxt = toks[direct[pos + 1]]
                if toks[i].text in ("image", "docker") and nxt.kind == "str" and not nxt.interpolated:
                    return nxt.body
            return None
        if runner.kind == "inside" and blk.name_tok is not None and blk.name_tok >= 5:
            # the tokens before `.inside` spell the image call: image, (, 'x', )
            close, value = blk.name_tok - 2, blk.name_tok - 3
            if toks[close].text == ")" and toks[value].kind == "str" and toks[value - 2].text == "image":
                return toks[value].body if not toks[value].interpolated else None
            return None
        if runner.kind == "withDockerContainer" and blk.paren_open is not None and blk.paren_close is not None:
            inner = range(blk.paren_open + 1, blk.paren_close)
            for i in inner:
                if toks[i].kind == "str" and (i == blk.paren_open + 1 or toks[i - 2].text == "image"):
                    return None if toks[i].interpolated else toks[i].body
        return None

    def earthly_text(self, within: range | None = None) -> str:
        """The scripts of the steps that call earthly/earth themselves (to choose the variable's spelling)."""
        return "\n".join(self.tree.toks[s.tok].body for s in self.steps_in(within) if s.commands)

    # --- where a token runs ---------------------------------------------------------------------------------
    def runner_of(self, tok: int) -> Runner:
        inner = self.tree.block_of[tok]
        return self._runner(inner)

    def _runner(self, block: int | None) -> Runner:
        if block in self._runner_cache:
            return self._runner_cache[block]
        if block is None:
            found = Runner("node", None, 1, "on the node (no agent is declared)")
        else:
            found = self._own_runner(block) or self._runner(self.tree.blocks[block].parent)
        self._runner_cache[block] = found
        return found

    def _own_runner(self, b: int) -> Runner | None:
        tree = self.tree
        blk = tree.blocks[b]
        line = tree.line(blk.name_tok if blk.name_tok is not None else blk.open)
        if blk.name == "inside" and blk.dotted:
            return Runner("inside", b, line, f"in docker.image(…).inside (line {line})")
        if blk.name == "withDockerContainer" and not blk.dotted:
            return Runner("withDockerContainer", b, line, f"in withDockerContainer (line {line})")
        if blk.name == "container" and not blk.dotted and blk.paren_open is not None:
            return Runner("container", b, line, f"in container(…) of a pod (line {line})")
        if blk.name == "podTemplate" and not blk.dotted:
            return Runner("pod", b, line, f"in the pod's agent container (podTemplate, line {line})")
        if blk.name == "node" and not blk.dotted:
            return Runner("node", b, line, f"on the node (node block, line {line})")
        if self._is_method(b):
            # A function's steps run wherever it is called from: no container of its own to change.
            return Runner("function", b, line, f"in {blk.name}() (line {line}), on whatever agent calls it")
        return self._agent(b)

    def _agent(self, b: int) -> Runner | None:
        """The agent a declarative `pipeline`/`stage`/`matrix` block declares, if any."""
        tree = self.tree
        agent = tree.child(b, "agent")
        if agent is not None:
            line = tree.line(tree.blocks[agent].name_tok or tree.blocks[agent].open)
            for kind, name in (("docker-agent", "docker"), ("dockerfile-agent", "dockerfile")):
                if tree.child(agent, name) is not None:
                    return Runner(kind, agent, line, f"in the {name} agent (line {line})")
            if tree.child(agent, "kubernetes") is not None:
                return Runner("kubernetes-agent", agent, line, f"in the kubernetes agent (line {line})")
            direct = tree.direct_tokens(agent)
            for pos, i in enumerate(direct[:-1]):
                tok, nxt = tree.toks[i], tree.toks[direct[pos + 1]]
                if tok.text == "docker" and nxt.kind == "str":
                    return Runner("docker-agent", agent, line, f"in the docker agent (line {line})")
                if tok.text == "dockerfile" and nxt.text == "true":
                    return Runner("dockerfile-agent", agent, line, f"in the dockerfile agent (line {line})")
            return Runner("node", agent, line, f"on {self._node_label(agent)} (agent, line {line})")
        if tree.blocks[b].name not in ("pipeline", "stage", "matrix"):
            return None
        direct = tree.direct_tokens(b)
        for pos, i in enumerate(direct[:-1]):
            tok, nxt = tree.toks[i], tree.toks[direct[pos + 1]]
            if tok.text == "agent" and nxt.kind == "ident" and nxt.text in ("any", "none", "label"):
                line = tree.line(i)
                if nxt.text == "none":
                    return None  # each stage brings its own agent; a stage without one has none to run in
                if nxt.text == "label":
                    return Runner("node", None, line, f"on {self._node_label(b, i)} (agent, line {line})")
                return Runner("node", None, line, f"on the node (agent any, line {line})")
        return None

    def _is_method(self, b: int) -> bool:
        """`def name(…) {` or `void name(…) {`: a function definition, not a call that takes a closure."""
        blk = self.tree.blocks[b]
        if blk.name_tok is None or blk.paren_open is None or blk.dotted or blk.name_tok == 0:
            return False
        before = self.tree.toks[blk.name_tok - 1]
        return before.kind == "ident" and (before.text in ("def", "void") or before.text[:1].isupper())

    def _node_label(self, block: int, after: int | None = None) -> str:
        """`the node labelled 'x'` from the first `label 'x'` in the agent (or after a token), else `the node`."""
        toks = self.tree.toks
        span = range(after if after is not None else self.tree.blocks[block].open, self.tree.blocks[block].close)
        for i in span:
            if toks[i].text == "label" and i + 1 < len(toks):
                j = i + 2 if toks[i + 1].text == "(" else i + 1
                if toks[j].kind == "str":
                    return f"the node labelled {toks[j].text}"
        return "the node"
