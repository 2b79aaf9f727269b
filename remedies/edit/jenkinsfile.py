"""Jenkinsfile editor: declarative `environment {}` and docker agents, scripted `withEnv`, `docker.inside`,
`withDockerContainer`, and the shell inside `sh` steps. Edits are splices at token offsets, so everything else
(comments, formatting, CRLF) stays byte for byte.
"""

from __future__ import annotations

import re

from earthly_doctor.remedies.edit import shell
from earthly_doctor.remedies.edit.groovy import Tree
from earthly_doctor.remedies.edit.pipeline_model import CONTAINER_KINDS, POD_KINDS, PipelineModel, Runner, Step
from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, NotApplicable, Splicer, indent_unit, newline_of
from earthly_doctor.gobool import GO_TRUE  # Go strconv.ParseBool, as urfave/cli reads the variable

_NETWORK = shell._NETWORK  # noqa: SLF001 -- the shell editor's pattern, shared on purpose
_OLD_IMAGE = re.compile(r"(?<![\w.-])(?:docker\.io/)?earthly/earthly:v?0\.8\.[01](?![\w.])")
_GOOD_IMAGE = re.compile(r"(?<![\w.-])(?:docker\.io/)?earthly/earthly:v?0\.8\.(?:[2-9]|\d\d)(?![\w.])")
NEW_IMAGE_TAG = "v0.8.16"  # the last Earthly release; the ENV that disables the proxy is in every tag >= v0.8.2


class _Edit:
    """Shared state of one editing pass over a Jenkinsfile."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tree = Tree(text)
        self.lines = self.tree.lines
        self.nl = newline_of(text)
        self.unit = indent_unit(text)
        self.splicer = Splicer(text)
        self.out = EditOutcome(text)
        self.model = PipelineModel(self.tree)

    def line(self, tok: int | None) -> int:
        # Named blocks always have their name token; 0 ("no line") only if the parser ever returns one without.
        return self.tree.line(tok) if tok is not None else 0

    def done(self) -> EditOutcome:
        self.out.text = self.splicer.apply()
        return self.out

    def allman(self) -> bool:
        """The file puts block braces on their own line (`stage('x')` then `{`), so new blocks do too."""
        own = sum(1 for b in self.tree.blocks if b.name_tok is not None and self.line(b.open) > self.line(b.name_tok))
        return own * 2 > sum(1 for b in self.tree.blocks if b.name_tok is not None)

    def open_block(self, indent: str, name: str) -> str:
        return f"{indent}{name}{self.nl}{indent}{{{self.nl}" if self.allman() else f"{indent}{name} {{{self.nl}"

    # --- helpers -------------------------------------------------------------------------------------------
    def require_multiline(self, block: int, what: str) -> None:
        blk = self.tree.blocks[block]
        open_tok, close_tok = self.tree.toks[blk.open], self.tree.toks[blk.close]
        if not self.lines.only_whitespace_after(open_tok.end) or not self.lines.only_whitespace_before(close_tok.start):
            raise EditRefused(self.line(blk.open), f"{what} is written on one line with other code; put its braces on their own lines")

    def inner_indent(self, block: int) -> str:
        """The indentation of the block's first statement, or the block's own plus one step."""
        blk = self.tree.blocks[block]
        direct = self.tree.direct_tokens(block)
        children = [self.tree.blocks[c].name_tok or self.tree.blocks[c].open for c in blk.children]
        first = min(list(direct) + [c for c in children if c is not None], default=None)
        if first is not None and self.lines.only_whitespace_before(self.tree.toks[first].start):
            return self.lines.indent_of(self.line(first))
        return self.lines.indent_of(self.line(blk.close)) + self.unit

    def merge_network(self, tok_index: int) -> None:
        """Put `--network host` into an args string literal, keeping the other arguments."""
        tok = self.tree.toks[tok_index]
        line = self.line(tok_index)
        net = _NETWORK.search(tok.body)
        if net is None:
            sep = " " if tok.body.strip() else ""
            lead = len(tok.body) - len(tok.body.lstrip())
            self.splicer.insert(tok.body_start + lead, "--network host" + sep)
            self.out.changes.append(f"line {line}: added --network host to the container arguments")
        elif net.group("val") == "host":
            self.out.already.append(f"line {line}: the container already runs with --network host")
        elif net.group("val") in ("bridge", "default"):
            self.splicer.replace(tok.body_start + net.start("val"), tok.body_start + net.end("val"), "host")
            self.out.changes.append(f"line {line}: changed --network {net.group('val')} to --network host")
        else:
            raise EditRefused(line, f"the container already uses --network {net.group('val')}; will not replace it")


# --- disable-proxy -------------------------------------------------------------------------------------------


def edit_disable_proxy(text: str, style: str = "env", stage: str | None = None) -> EditOutcome:
    """Set the variable for the whole pipeline (declarative `environment {}`, scripted `env.X = 'true'` as the
    first statement of the node), or put the flag on the earthly commands of `sh` steps (style `flag`)."""
    ed = _Edit(text)
    scope = ed.tree.tokens_in(_stage_block(ed, None, stage)) if stage else None
    steps = ed.model.steps_in(scope)
    keys = shell.keys_for(ed.model.earthly_text())
    # Earthly started by `docker run` in a step gets the variable on that command: the job's environment stops there.
    for step in steps:
        if step.runs:
            tok = ed.tree.toks[step.tok]
            changes, already = shell.pass_env_to_earthly_runs(tok.body, ed.splicer, keys, tok.body_start, step.line - 1)
            ed.out.changes += changes
            ed.out.already += already
    if (ed.out.changes or ed.out.already) and not any(s.commands or s.wrappers for s in steps):
        return ed.done()
    if style == "flag":
        for step in steps:
            tok = ed.tree.toks[step.tok]
            changes, already = shell.add_flag(tok.body, ed.splicer, tok.body_start, step.line - 1)
            ed.out.changes += changes
            ed.out.already += already
        if ed.out.changes or ed.out.already:
            return ed.done()
        ed.out.notes.append("no earthly command in an `sh` step; set the variable for the pipeline instead")
    pipelines = [b for b in ed.tree.named("pipeline") if not any(ed.tree.blocks[a].name == "pipeline" for a in ed.tree.depth_blocks(b))]
    if pipelines:
        for p in pipelines:
            target = _stage_block(ed, p, stage) if stage else p
            for key in keys:
                _declarative_env(ed, target, key, keys)
        return ed.done()
    if stage:
        _scripted_with_env(ed, _stage_block(ed, None, stage), keys[0])
        return ed.done()
    nodes = [b for b in ed.tree.named("node") if not any(ed.tree.blocks[a].name == "node" for a in ed.tree.depth_blocks(b))]
    if not nodes:
        raise EditRefused(1, "no `pipeline {}` or `node {}` block found; is this a Jenkinsfile?")
    # Only the nodes that run earthly (a Windows or deploy node has no use for the variable); all when none visibly does.
    nodes = [n for n in nodes if ed.model.earthly_steps(ed.tree.tokens_in(n))] or nodes
    for n in nodes:
        _scripted_env(ed, n, keys)
    return ed.done()


def _stage_block(ed: _Edit, pipeline: int | None, name: str) -> int:
    for b in ed.tree.named("stage"):
        blk = ed.tree.blocks[b]
        if (pipeline is not None and pipeline not in ed.tree.depth_blocks(b)) or blk.paren_open is None:
            continue
        first = ed.tree.toks[blk.paren_open + 1]
        if first.kind == "str" and first.body == name:
            return b
    raise EditRefused(1, f"no stage named {name!r}")


def _set_in_env(ed: _Edit, env: int, key: str, where: str, nested: bool = False) -> bool:
    """Handle an existing assignment of the variable in an `environment {}` block; False when there is none."""
    tree = ed.tree
    direct = tree.direct_tokens(env)
    for pos, i in enumerate(direct):
        tok = tree.toks[i]
        if tok.kind != "ident" or tok.text not in shell.ENV_KEYS or pos + 1 >= len(direct) or tree.toks[direct[pos + 1]].text != "=":
            continue
        if tok.text != key and not key.startswith("EARTH_"):
            continue
        value = tree.toks[direct[pos + 2]] if pos + 2 < len(direct) else None
        line = ed.line(i)
        if value is None or value.kind != "str" or value.interpolated or not tree.statement_end_ok(direct[pos + 2]):
            raise EditRefused(line, f"{tok.text} is set to an expression; set it to 'true' yourself")
        if value.body in GO_TRUE:
            if not nested:
                ed.out.already.append(f"line {line}: {tok.text} = '{value.body}' is already in the {where} environment")
            return True
        ed.splicer.replace(value.body_start, value.body_end, "true")
        why = f" (this {where} environment overrides the one outside it)" if nested else ""
        ed.out.changes.append(f"line {line}: changed {tok.text} from '{value.body}' to 'true'{why}")
        return True
    return False


def _declarative_env(ed: _Edit, target: int, key: str, keys: tuple[str, ...]) -> None:
    """Set `key` in the target's environment; a new block gets every key at once (the first key's call adds it)."""
    tree = ed.tree
    env = tree.child(target, "environment")
    where = "pipeline" if tree.blocks[target].name == "pipeline" else "stage"
    # A stage's own environment wins over the pipeline's: a 'false' there would undo the fix for that stage.
    for inner in tree.named("environment"):
        if inner != env and target in tree.depth_blocks(inner):
            _set_in_env(ed, inner, key, "stage", nested=True)
    if env is None and key != keys[0]:
        return  # the new block made for the first key holds this one too
    if env is not None:
        if _set_in_env(ed, env, key, where):
            return
        ed.require_multiline(env, "the environment block")
        indent = ed.inner_indent(env)
        close = tree.toks[tree.blocks[env].close]
        at = ed.lines.start_of_line(ed.lines.line_of(close.start))
        ed.splicer.insert(at, f"{indent}{key} = 'true'{ed.nl}")
        ed.out.changes.append(f"line {ed.lines.line_of(close.start)}: added {key} = 'true' to the {where} environment")
        return
    anchor = None
    for name in ("stages", "steps", "parallel", "matrix"):
        child = tree.child(target, name)
        if child is not None:
            anchor = tree.blocks[child].name_tok
            break
    if anchor is not None and ed.lines.only_whitespace_before(tree.toks[anchor].start):
        line = ed.line(anchor)
        indent = ed.lines.indent_of(line)
        line = _above_comments(ed, line, tree.toks[tree.blocks[target].open].end)
        at = ed.lines.start_of_line(line)
    else:
        ed.require_multiline(target, f"the {where} block")
        indent = ed.inner_indent(target)
        line = ed.line(tree.blocks[target].open) + 1
        at = ed.lines.start_of_line(line)
    entries = "".join(f"{indent}{ed.unit}{k} = 'true'{ed.nl}" for k in keys)
    block = f"{ed.open_block(indent, 'environment')}{entries}{indent}}}{ed.nl}"
    ed.splicer.insert(at, block)
    names = " and ".join(f"{k} = 'true'" for k in keys)
    ed.out.changes.append(f"line {line}: added a {where} environment block with {names}")


def _above_comments(ed: _Edit, line: int, floor: int) -> int:
    """Move an insertion line above the `//` comment lines right before it: they describe what follows them."""
    strings = [t for t in ed.tree.toks if t.kind == "str" and "\n" in t.text]
    while line > 1:
        start = ed.lines.start_of_line(line - 1)
        if start < floor or not ed.lines.line_text(line - 1).strip().startswith("//"):
            break
        if any(s.start < start < s.end for s in strings):
            break
        line -= 1
    return line


def _env_assignments(ed: _Edit, key: str) -> list[tuple[int, int]]:
    """`env.KEY = <value>` statements anywhere in the file: (token of KEY, token of the value)."""
    toks = ed.tree.toks
    return [
        (i, i + 2) for i in range(2, len(toks) - 2)
        if toks[i].text == key and toks[i - 1].text == "." and toks[i - 2].text == "env" and toks[i + 1].text == "="
    ]


def _scripted_env(ed: _Edit, node: int, keys: tuple[str, ...]) -> None:
    """`env.KEY = 'true'` as the first statement of the node: one line each, nothing re-indented."""
    tree = ed.tree
    missing = []
    for key in keys:
        found = _env_assignments(ed, key)
        for key_tok, value in found:
            tok = tree.toks[value]
            line = ed.line(key_tok)
            if tok.kind == "str" and not tok.interpolated and tok.body in GO_TRUE:
                ed.out.already.append(f"line {line}: env.{key} = '{tok.body}' is already set")
            elif tok.kind == "str" and not tok.interpolated and tree.statement_end_ok(value):
                ed.splicer.replace(tok.body_start, tok.body_end, "true")
                ed.out.changes.append(f"line {line}: changed env.{key} from '{tok.body}' to 'true'")
            else:
                raise EditRefused(line, f"env.{key} is set to an expression; set it to 'true' yourself")
        if not found and not _with_env_sets(ed, node, key):
            missing.append(key)
    if not missing:
        return
    blk = tree.blocks[node]
    ed.require_multiline(node, f"the {blk.name} block")
    line = ed.line(blk.open) + 1
    indent = ed.inner_indent(node)
    ed.splicer.insert(ed.lines.start_of_line(line), "".join(f"{indent}env.{k} = 'true'{ed.nl}" for k in missing))
    for k in missing:
        ed.out.changes.append(f"line {line}: added env.{k} = 'true' as the first statement of the {blk.name} block")


def _with_env_sets(ed: _Edit, node: int, key: str) -> bool:
    """A `withEnv([...'KEY=…'])` inside the node already names the variable: fix its value there, add nothing."""
    tree = ed.tree
    found = False
    for i in tree.tokens_in(node):
        tok = tree.toks[i]
        if tok.kind != "ident" or tok.text != "withEnv":
            continue
        close = tree.paren_match.get(i + 1, i + 1)
        for j in range(i + 1, close):
            t = tree.toks[j]
            m = re.fullmatch(rf"({key})=(.*)", t.body) if t.kind == "str" else None
            if m is None:
                continue
            found = True
            if m.group(2) in GO_TRUE:
                ed.out.already.append(f"line {ed.line(j)}: withEnv already sets {t.body}")
            elif t.interpolated:
                raise EditRefused(ed.line(j), f"withEnv sets {key} from an expression; set it to true yourself")
            else:
                # An inner withEnv wins over an outer one: a 'false' here would undo any setting outside it.
                ed.splicer.replace(t.body_start + m.start(2), t.body_end, "true")
                ed.out.changes.append(f"line {ed.line(j)}: changed withEnv {t.body} to {key}=true")
    return found


def _scripted_with_env(ed: _Edit, node: int, key: str) -> None:
    """Wrap one scripted stage in withEnv: `--stage` asks for the setting in that stage only, which `env.X` is not."""
    tree = ed.tree
    blk = tree.blocks[node]
    found = [_with_env_sets(ed, node, k) for k in shell.ENV_KEYS]
    if any(found):
        return
    ed.require_multiline(node, f"the {blk.name} block")
    open_line = ed.line(blk.open)
    close_line = ed.line(blk.close)
    inner = ed.lines.indent_of(close_line) + ed.unit
    ed.splicer.insert(ed.lines.start_of_line(open_line + 1), f"{inner}withEnv(['{key}=true']) {{{ed.nl}")
    # Re-indent the body one step, except lines that continue a multi-line string (their text is data).
    strings = [t for t in tree.toks if t.kind == "str" and "\n" in t.text]
    for line in range(open_line + 1, close_line):
        start = ed.lines.start_of_line(line)
        if not ed.lines.line_text(line).strip() or any(s.start < start < s.end for s in strings):
            continue
        ed.splicer.insert(start, ed.unit)
    ed.splicer.insert(ed.lines.start_of_line(close_line), f"{inner}}}{ed.nl}")
    ed.out.changes.append(f"line {open_line + 1}: wrapped the {blk.name} body in withEnv(['{key}=true'])")


# --- host-network --------------------------------------------------------------------------------------------

def edit_host_network(text: str) -> EditOutcome:
    """`--network host` on the containers that run earthly, and on no other; a refusal when earthly runs on the node
    itself or nowhere visible, since there is then no container to change."""
    ed = _Edit(text)
    steps = ed.model.earthly_steps()
    images = ed.model.earthly_image_runners()
    if not steps and not images:
        raise NotApplicable(0, "no sh step runs earthly here, so no container to give --network host; add it to the "
                               "container that runs earthly yourself, or name that script with --file")
    elsewhere = _network_where_earthly_runs(ed, steps, images)
    pods = [s for s in elsewhere if s.runner.kind in POD_KINDS]
    if pods:
        runner = pods[0].runner
        ed.out.notes.append(
            f"line {runner.line}: earthly runs {runner.where} (not edited): add `hostNetwork: true` to the pod "
            "spec of that pod template:\n  spec:\n    hostNetwork: true\n    dnsPolicy: ClusterFirstWithHostNet"
        )
    rest = [s for s in elsewhere if s.runner.kind not in POD_KINDS]
    if ed.out.changes or ed.out.already or pods:
        for step in rest:
            what = f"{step.wrappers[0]} (not edited) runs earthly where it says" if not step.commands else (
                f"this earthly runs {step.runner.where}, not in a container (not edited)")
            ed.out.notes.append(f"line {step.line}: {what}")
        return ed.done()
    raise _no_container(rest)


def _network_where_earthly_runs(ed: _Edit, steps: list[Step], images: list[Runner]) -> list[Step]:
    """Edit each container that runs earthly once; return the earthly steps that run outside any editable container."""
    tree = ed.tree
    done: set[int] = set()
    elsewhere = []
    runners = [s.runner for s in steps if not s.runs] + images  # images: earthly runs there whatever the steps say
    for step in steps:
        if step.runs:  # Earthly runs in the container the step starts, not in the step's own
            tok = tree.toks[step.tok]
            changes, already = shell.set_network_host(tok.body, ed.splicer, tok.body_start, step.line - 1)
            ed.out.changes += changes
            ed.out.already += already
        elif step.runner.kind not in CONTAINER_KINDS:
            elsewhere.append(step)
    for runner in runners:
        if runner.kind in CONTAINER_KINDS and runner.block is not None and runner.block not in done:
            done.add(runner.block)
            _container_network(ed, runner.kind, runner.block)
    return elsewhere


def _no_container(steps: list[Step]) -> NotApplicable:
    """Why there is nothing to give --network host, and what to change instead."""
    direct = [s for s in steps if s.commands]
    if not steps:
        return NotApplicable(0, "found no container here that runs earthly; add --network host to it yourself")
    if not direct:
        step = steps[0]
        script = step.wrappers[0]
        return NotApplicable(step.line, f"earthly runs in whatever {script} starts; give that script to "
                                        f"`fix --remedy host-network --file {script.lstrip('./') or script}`")
    step = direct[0]
    if step.runner.kind == "function":
        return NotApplicable(step.line, f"earthly runs {step.runner.where}, so which container runs it is not "
                                        "visible here; add --network host to that agent yourself, or use disable-proxy")
    return NotApplicable(step.line, f"earthly runs {step.runner.where}, not in a container, so there is no container "
                                    "network to change; use disable-proxy, or run earthly in a docker agent")


def _container_network(ed: _Edit, kind: str, block: int) -> None:
    if kind in ("docker-agent", "dockerfile-agent"):
        _agent_network(ed, block)
    elif kind == "inside":
        _inside_network(ed, block)
    else:
        _with_container_network(ed, block)


def _agent_network(ed: _Edit, agent: int) -> None:
    tree = ed.tree
    for kind in ("docker", "dockerfile"):
        child = tree.child(agent, kind)
        if child is not None:
            _docker_block_args(ed, child)
            return
    direct = tree.direct_tokens(agent)
    for pos, i in enumerate(direct[:-1]):
        tok, nxt = tree.toks[i], tree.toks[direct[pos + 1]]
        if tok.kind == "ident" and tok.text == "docker" and nxt.kind == "str":
            # Short form `docker 'image'` has no room for args: expand it.
            ed.splicer.replace(tok.start, nxt.end, f"docker {{ image {nxt.text}; args '--network host' }}")
            ed.out.changes.append(f"line {ed.line(i)}: expanded `docker {nxt.text}` and added args '--network host'")
            return
        if tok.kind == "ident" and tok.text == "dockerfile" and nxt.text == "true":
            ed.splicer.replace(tok.start, nxt.end, "dockerfile { args '--network host' }")
            ed.out.changes.append(f"line {ed.line(i)}: expanded `dockerfile true` and added args '--network host'")
            return


def _docker_block_args(ed: _Edit, block: int) -> None:
    tree = ed.tree
    direct = tree.direct_tokens(block)
    for pos, i in enumerate(direct):
        tok = tree.toks[i]
        if tok.kind == "ident" and tok.text == "args":
            value = direct[pos + 1] if pos + 1 < len(direct) else None
            if value is None or tree.toks[value].kind != "str" or not tree.statement_end_ok(value):
                raise EditRefused(ed.line(i), "the agent's args is not a plain string; add --network host to it yourself")
            ed.merge_network(value)
            return
    blk = tree.blocks[block]
    open_tok, close_tok = tree.toks[blk.open], tree.toks[blk.close]
    if ed.lines.line_of(open_tok.start) == ed.lines.line_of(close_tok.start):
        if not direct:
            raise EditRefused(ed.line(blk.open), "an empty docker agent block; add args '--network host' yourself")
        ed.splicer.insert(tree.toks[blk.close - 1].end, "; args '--network host'")
    else:
        ed.require_multiline(block, f"the {blk.name} block")
        at = ed.lines.start_of_line(ed.lines.line_of(close_tok.start))
        ed.splicer.insert(at, f"{ed.inner_indent(block)}args '--network host'{ed.nl}")
    ed.out.changes.append(f"line {ed.line(blk.open)}: added args '--network host' to the {blk.name} agent")


def _inside_network(ed: _Edit, block: int) -> None:
    tree = ed.tree
    blk = tree.blocks[block]
    line = ed.line(blk.name_tok)
    if blk.paren_open is None or blk.paren_close is None:
        name_tok = blk.open if blk.name_tok is None else blk.name_tok  # a named block always has its name token
        ed.splicer.insert(tree.toks[name_tok].end, "('--network host')")
        ed.out.changes.append(f"line {line}: added '--network host' to docker.inside")
        return
    inner = list(range(blk.paren_open + 1, blk.paren_close))
    if not inner:
        ed.splicer.insert(tree.toks[blk.paren_open].end, "'--network host'")
        ed.out.changes.append(f"line {line}: added '--network host' to docker.inside")
        return
    if len(inner) == 1 and tree.toks[inner[0]].kind == "str":
        ed.merge_network(inner[0])
        return
    raise EditRefused(line, "docker.inside() is given an expression, not a string; add --network host to it yourself")


def _with_container_network(ed: _Edit, block: int) -> None:
    tree = ed.tree
    blk = tree.blocks[block]
    line = ed.line(blk.name_tok)
    if blk.paren_open is None or blk.paren_close is None or blk.paren_close == blk.paren_open + 1:
        raise EditRefused(line, "withDockerContainer without arguments")
    inner = list(range(blk.paren_open + 1, blk.paren_close))
    for pos, i in enumerate(inner):
        tok = tree.toks[i]
        if tok.kind == "ident" and tok.text == "args" and pos + 1 < len(inner) and tree.toks[inner[pos + 1]].text == ":":
            value = inner[pos + 2] if pos + 2 < len(inner) else None
            if value is None or tree.toks[value].kind != "str" or (pos + 3 < len(inner) and tree.toks[inner[pos + 3]].text != ","):
                raise EditRefused(line, "withDockerContainer args is not a plain string; add --network host to it yourself")
            ed.merge_network(value)
            return
    first = tree.toks[inner[0]]
    if len(inner) == 1 and first.kind == "str":
        # A positional image cannot be mixed with named arguments: name it.
        ed.splicer.replace(first.start, first.end, f"image: {first.text}, args: '--network host'")
    else:
        ed.splicer.insert(tree.toks[blk.paren_close - 1].end, ", args: '--network host'")
    ed.out.changes.append(f"line {line}: added args: '--network host' to withDockerContainer")


# --- earthly-image -------------------------------------------------------------------------------------------


def edit_image(text: str) -> EditOutcome:
    """Move `earthly/earthly:v0.8.0`/`v0.8.1` (no proxy-disabling ENV yet) to a release that has it."""
    ed = _Edit(text)
    for i, tok in enumerate(ed.tree.toks):
        if tok.kind != "str":
            continue
        for m in _OLD_IMAGE.finditer(tok.body):
            if tok.body.startswith("@", m.end()):
                # Docker pulls by the digest and ignores the tag, so a new tag alone would change nothing.
                raise EditRefused(ed.line(i), f"{m.group(0)} is pinned by digest; replace the tag and the digest yourself")
            start = tok.body_start + m.start()
            colon = m.group(0).rindex(":")
            ed.splicer.replace(start + colon + 1, tok.body_start + m.end(), NEW_IMAGE_TAG)
            ed.out.changes.append(f"line {ed.line(i)}: {m.group(0)} → earthly/earthly:{NEW_IMAGE_TAG} (sets the variable itself)")
        for m in _GOOD_IMAGE.finditer(tok.body):
            ed.out.already.append(f"line {ed.line(i)}: {m.group(0)} already disables the proxy itself")
    if not ed.out.changes and not ed.out.already:
        ed.out.notes.append(
            "no earthly/earthly:v0.8.0/v0.8.1 image here; if the agent image only copies the earthly binary, add "
            "ENV EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=true to its Dockerfile (pass it with --file)"
        )
    return ed.done()


def dockerfile_agents(text: str) -> list[str]:
    """The Dockerfiles that `agent { dockerfile { filename …; dir … } }` builds, relative to the workspace."""
    try:
        tree = Tree(text)
    except EditRefused:
        return []
    found = []
    for b in tree.named("dockerfile"):
        values = {"filename": "Dockerfile", "dir": "."}
        direct = tree.direct_tokens(b)
        for pos, i in enumerate(direct[:-1]):
            tok, nxt = tree.toks[i], tree.toks[direct[pos + 1]]
            if tok.kind == "ident" and tok.text in values and nxt.kind == "str" and not nxt.interpolated:
                values[tok.text] = nxt.body
        found.append(f"{values['dir'].rstrip('/')}/{values['filename']}")
    return found
