"""Realistic shapes of build logs for the triage benchmark (issue 14), generated once under /tmp and reused.

Every shape ends with the same failure (the unreachable-proxy pair of earthly/earthly#3736) so the bench can assert
the verdict, port, stage and timestamp on each:
- `jenkins`: a Pipeline consoleText with Timestamper prefixes where 30 % of the lines are `[Pipeline]` steps
  (sh, echo, withEnv/dir/retry blocks, stages), the rest short `sh` output; the failure in stage `Image`.
- `refused`: an Earthly build under Jenkins whose service wait loop prints
  `dial tcp 127.0.0.1:5432: connect: connection refused` on 5 % of the lines.
- `plain`: plain Earthly output (`+target | --> RUN …`, `buildkitd | …`, `output | …`), no prefixes at all.
- `single`: one 200 MB line without a newline (a base64 blob echoed by a step), then the failure.
`gzip` is the `jenkins` shape compressed (`gzip -1`), read by both tools through a decompressor.
"""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DATA = Path("/tmp/earthly-doctor-bench")
PORT = "35137"
FAILURE_STAMP = "2024-01-22T23:20:55.244Z"
STAGE = "Image"
NODE = "agent-7"

_WORDS = ("layer", "sha256", "resolve", "cache", "hit", "miss", "copy", "run", "compile", "test", "passed", "ok",
    "done", "fetch", "npm", "ci", "install", "go", "build", "mod", "download", "verify", "module", "package",
    "artifact", "image", "export", "load", "step", "target", "context", "local", "remote", "digest", "manifest",
    "warning", "deprecated", "retry", "timeout", "gradle", "maven", "junit", "report", "coverage", "lint",
    "format", "check", "upload", "bucket")
_TARGETS = ("+build", "+test", "+lint", "+image", "+deps", "./services/api+docker", "github.com/acme/base+go")


def _stamp(rng: random.Random, n: int) -> str:
    return f"[2024-01-22T{(n // 3600) % 24:02d}:{(n // 60) % 60:02d}:{n % 60:02d}.{rng.randint(0, 999):03d}Z] "


def _failure(stamped: bool) -> str:
    stamp = f"[{FAILURE_STAMP}] " if stamped else ""
    return (
        f"{stamp}Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: "
        "1 error occurred:\n"
        f"{stamp}\t* command failed: docker pull 127.0.0.1:{PORT}/sess-jwd728vcbn4ni32eu360wnxmi/pullping:img-0: "
        f'exit status 1: Error response from daemon: Get "http://127.0.0.1:{PORT}/v2/": dial tcp 127.0.0.1:{PORT}: '
        "connect: connection refused: exit status 1\n"
    )


def _words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(lo, hi)))


def _jenkins_block(rng: random.Random, index: int, size: int) -> str:
    """About `size` bytes of one stage: 30 % `[Pipeline]` lines, a third of them block braces."""
    out: list[str] = []
    n = index * 1000
    stage = f"Build {index % 17}"
    head = ["[Pipeline] stage", f"[Pipeline] {{ ({stage})", "[Pipeline] withEnv", "[Pipeline] {"]
    out += [_stamp(rng, n) + line for line in head]
    total = 0
    while total < size:
        n += 1
        kind = rng.random()
        if kind < 0.25:  # a block step around one sh: 8 Pipeline lines, 4 of them braces, and 6 output lines
            step = rng.choice(("dir", "retry", "timeout", "withCredentials", "script"))
            lines = [f"[Pipeline] {step}", "[Pipeline] {", "[Pipeline] sh", f"+ make {rng.choice(_WORDS)}"]
            lines += [_words(rng, 3, 12) for _ in range(rng.randint(3, 6))]
            lines += ["[Pipeline] }", f"[Pipeline] // {step}"]
        elif kind < 0.55:
            lines = ["[Pipeline] echo", f"{rng.choice(_WORDS)} {rng.randint(0, 99999)}"]
        else:
            lines = ["[Pipeline] sh", f"+ ./ci/{rng.choice(_WORDS)}.sh"]
            lines += [_words(rng, 3, 14) for _ in range(rng.randint(2, 7))]
        text = "".join(_stamp(rng, n) + line + "\n" for line in lines)
        out.append(text.rstrip("\n"))
        total += len(text)
    tail = ("[Pipeline] }", "[Pipeline] // withEnv", "[Pipeline] }", "[Pipeline] // stage")
    out += [_stamp(rng, n) + line for line in tail]
    return "\n".join(out) + "\n"


def _refused_block(rng: random.Random, index: int, size: int) -> str:
    out: list[str] = []
    total, n = 0, index * 1000
    while total < size:
        n += 1
        kind = rng.random()
        target = rng.choice(_TARGETS)
        if kind < 0.05:
            text = f"{'+integration':>20} | dial tcp 127.0.0.1:5432: connect: connection refused"
        elif kind < 0.10:
            text = f"{'+integration':>20} | waiting for postgres on 127.0.0.1:5432 ({rng.randint(1, 60)}s)"
        else:
            text = f"{target:>20} | " + _words(rng, 4, 16)
        line = _stamp(rng, n) + text + "\n"
        out.append(line)
        total += len(line)
    return "".join(out)


def _plain_block(rng: random.Random, _index: int, size: int) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        kind = rng.random()
        target = rng.choice(_TARGETS)
        if kind < 0.70:
            text = f"{target:>20} | " + _words(rng, 4, 16)
        elif kind < 0.85:
            text = f"{target:>20} | --> RUN " + _words(rng, 3, 8)
        elif kind < 0.95:
            text = f"{'buildkitd':>20} | " + _words(rng, 3, 10)
        else:
            text = f"{'output':>20} | --> exporting outputs " + _words(rng, 1, 4)
        out.append(text + "\n")
        total += len(text) + 1
    return "".join(out)


@dataclass(frozen=True)
class Shape:
    name: str
    stamped: bool  # Timestamper prefixes: the failure carries FAILURE_STAMP
    staged: bool  # inside a Pipeline: the failure is in stage STAGE on node NODE


SHAPES = {
    "jenkins": Shape("jenkins", True, True),
    "refused": Shape("refused", True, True),
    "plain": Shape("plain", False, False),
    "single": Shape("single", False, False),
}

_BLOCKS = {"jenkins": _jenkins_block, "refused": _refused_block, "plain": _plain_block}
_PIPELINE_HEAD = (
    "[2024-01-22T22:00:00.000Z] Started by user admin\n[2024-01-22T22:00:00.001Z] [Pipeline] Start of Pipeline\n"
    "[2024-01-22T22:00:00.002Z] [Pipeline] node\n"
    f"[2024-01-22T22:00:00.003Z] Running on {NODE} in /home/jenkins/workspace/app\n"
    "[2024-01-22T22:00:00.004Z] [Pipeline] {\n"
)
_PIPELINE_TAIL = (
    "[2024-01-22T23:20:55.300Z] [Pipeline] }\n[2024-01-22T23:20:55.301Z] [Pipeline] // stage\n"
    "[2024-01-22T23:20:55.302Z] [Pipeline] }\n[2024-01-22T23:20:55.303Z] [Pipeline] // node\n"
    "[2024-01-22T23:20:55.304Z] [Pipeline] End of Pipeline\n"
    "[2024-01-22T23:20:55.305Z] ERROR: script returned exit code 1\n"
    "[2024-01-22T23:20:55.306Z] Finished: FAILURE\n"
)


def path_for(shape: str, size_mb: int, gz: bool = False, directory: Path = DATA) -> Path:
    return directory / f"{shape}-{size_mb}mb.log{'.gz' if gz else ''}"


def generate(shape: str, size_mb: int, *, gz: bool = False, distinct: int = 48, block_size: int = 1 << 20,
             directory: Path = DATA) -> Path:
    """The log of `shape` at about `size_mb` MiB (reused when it exists); `gz`: its gzip (-1) copy."""
    path = path_for(shape, size_mb, gz, directory)
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    if gz:
        plain = generate(shape, size_mb, distinct=distinct, block_size=block_size, directory=directory)
        tmp = path.with_suffix(".tmp")
        if shutil.which("gzip"):
            with open(tmp, "wb") as out:
                subprocess.run(["gzip", "-1", "-c", str(plain)], stdout=out, check=True)
        else:  # pragma: no cover
            with open(plain, "rb") as src, gzip.open(tmp, "wb", compresslevel=1) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        tmp.replace(path)
        return path
    rng = random.Random(3736)
    info = SHAPES[shape]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        if shape == "single":
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            blob = "".join(rng.choice(alphabet) for _ in range(1 << 20))
            data = ("+build | " + blob).encode()
            written = 0
            while written < size_mb << 20:
                f.write(data)
                written += len(data)
            f.write(b"\n" + _failure(False).encode())
        else:
            blocks = [_BLOCKS[shape](rng, i, block_size).encode() for i in range(distinct)]
            if info.staged:
                f.write(_PIPELINE_HEAD.encode())
            written, i = 0, 0
            while written < size_mb << 20:
                f.write(blocks[i % len(blocks)])
                written += len(blocks[i % len(blocks)])
                i += 1
            if info.staged:
                f.write(b"[2024-01-22T23:20:30.000Z] [Pipeline] stage\n")
                f.write(f"[2024-01-22T23:20:30.001Z] [Pipeline] {{ ({STAGE})\n".encode())
                f.write(b"[2024-01-22T23:20:30.002Z] [Pipeline] sh\n")
                f.write(b"[2024-01-22T23:20:30.003Z] + earthly --ci --push +image\n")
            f.write(_failure(info.stamped).encode())
            if info.staged:
                f.write(_PIPELINE_TAIL.encode())
    tmp.replace(path)
    return path
