"""`bundle` as an attacker would try it: the planted-secret corpus (tests/data/secrets/corpus.json) in the log, the
Jenkinsfile, .env and the environment, private keys cut by the excerpt window, workspace links to files outside
the workspace, a FIFO for a Jenkinsfile, and a 200 MB log that is one line (flat memory, linear time)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "secrets" / "corpus.json").read_text())["entries"]
ERROR_PAIR = (
    "[2024-01-22T23:20:55.244Z] Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image "
    "pull: 1 error occurred:\n"
    "[2024-01-22T23:20:55.244Z] \t* command failed: docker pull 127.0.0.1:35137/sess-jwd728vcbn4ni32eu360wnxmi/"
    "pullping:img-0: exit status 1: Error response from daemon: Get \"http://127.0.0.1:35137/v2/\": dial tcp "
    "127.0.0.1:35137: connect: connection refused: exit status 1\n"
)


def corpus_lines(stamp: bool = True, failure_after: int | None = None) -> list[str]:
    prefix = "[2024-01-22T23:20:50.000Z] " if stamp else ""
    lines: list[str] = []
    for n, e in enumerate(CORPUS):
        block = [e["begin"], *e["body"], e["end"]] if "body" in e else [e["line"]]
        lines += [prefix + line for line in block]
        if n == failure_after:
            lines += ERROR_PAIR.splitlines()
    return lines


def secrets() -> list[str]:
    """Every planted value, each word of 6+ characters of a spaced one, and every key body line."""
    out: list[str] = []
    for e in CORPUS:
        out += [e["secret"], *[p for p in e["secret"].split() if len(p) >= 6]]
        out += [b for b in e.get("body", []) if len(b) >= 16]
    return out


def run_bundle(cwd: Path, env: dict[str, str], *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "earthly_doctor", "bundle", "--docker-host", f"unix://{cwd}/no-daemon.sock",
         "--timeout", "3", *args],
        cwd=cwd, env=env, input=stdin, capture_output=True, check=False, timeout=180,
    )


def base_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "NO_COLOR": "1", "LANG": "C.UTF-8"}


def extract(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def leaks(blob: bytes) -> list[str]:
    return [s for s in secrets() if s.encode() in blob]


@pytest.mark.parametrize("how", ["file", "gzip", "stdin"])
def test_no_corpus_secret_reaches_any_bundle_file(tmp_path, how):
    lines = corpus_lines(failure_after=len(CORPUS) // 2)
    log_text = "\n".join(lines) + "\n"
    (tmp_path / "Jenkinsfile").write_text("pipeline {\n" + "\n".join("// " + ln for ln in corpus_lines(False)) + "\n}\n")
    (tmp_path / ".env").write_text("\n".join(e["line"] for e in CORPUS if "line" in e) + "\n")
    env = base_env(tmp_path)
    env.update({f"CI_NOTE_{i}": e["line"] for i, e in enumerate(CORPUS) if "line" in e})
    log = tmp_path / "build.log"
    args: list[str] = ["--context", "400", "-o", str(tmp_path / "b.tar.gz")]
    stdin = None
    if how == "file":
        log.write_text(log_text)
        args += ["--log", str(log)]
    elif how == "gzip":
        log.write_bytes(gzip.compress(log_text.encode()))
        args += ["--log", str(log)]
    else:
        stdin = log_text.encode()
        args += ["--log", "-"]
    result = run_bundle(tmp_path, env, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    files = extract(tmp_path / "b.tar.gz")
    excerpt_name = next(n for n in files if n.startswith("logs/"))
    excerpt = files[excerpt_name].decode()
    assert "connection refused" in excerpt and excerpt.count("\n") >= len(lines)  # every planted line is shown
    assert leaks(b"\n".join(files.values()) + result.stdout + result.stderr) == []
    manifest = json.loads(files["manifest.json"])
    where = {r["file"] for r in manifest["redactions"]}
    assert {excerpt_name, "jenkins/Jenkinsfile", "earthly/dotenv", "environment.json"} <= where
    assert "github.com/gitleaks/gitleaks" in manifest["redaction_rules"]["gitleaks"]
    kinds_in_log = [r["kind"] for r in manifest["redactions"] if r["file"] == excerpt_name]
    assert kinds_in_log.count("private-key") == sum(1 for e in CORPUS if "body" in e) + 1  # +1: the one-line JSON key
    assert len(kinds_in_log) >= len(CORPUS)


def key_log(begin_at: int, end_at: int, hit_at: int, total: int) -> tuple[str, list[str]]:
    """A log whose line `hit_at` starts the Earthly failure pair and whose key block runs from `begin_at` to
    `end_at` (1-based); returns the text and the key's body lines."""
    body = [f"MIIEow{n:04d}IBAAKCAQEAv7Lq3pY0kZq4cJ9x2W5sDfGhJkLmNoPqRsTuVwXyZ" for n in range(end_at - begin_at - 1)]
    out: list[str] = []
    n = 1
    while n <= total:
        if n == hit_at:
            out += ERROR_PAIR.splitlines()
            n += 2
            continue
        if n == begin_at:
            out.append("-----BEGIN RSA PRIVATE KEY-----")
        elif n == end_at:
            out.append("-----END RSA PRIVATE KEY-----")
        elif begin_at < n < end_at:
            out.append(body[n - begin_at - 1])
        else:
            out.append(f"               output | step {n}")
        n += 1
    return "\n".join(out) + "\n", body


@pytest.mark.parametrize("begin_at,end_at,hit_at", [
    (10, 200, 100),   # BEGIN and END both outside the window: only body lines (and the failure) are shown
    (10, 103, 100),   # BEGIN outside, END inside
    (104, 300, 100),  # BEGIN inside, END outside
    (10, 40, 100),    # the whole key before the window: nothing of it shown
])
def test_a_key_cut_by_the_excerpt_window_is_still_redacted(tmp_path, begin_at, end_at, hit_at):
    text, body = key_log(begin_at, end_at, hit_at, 320)
    log = tmp_path / "k.log"
    log.write_text(text)
    result = run_bundle(tmp_path, base_env(tmp_path), "--log", str(log), "--context", "5",
                        "-o", str(tmp_path / "b.tgz"))
    assert result.returncode == 0, result.stderr
    files = extract(tmp_path / "b.tgz")
    excerpt = files["logs/k.log.excerpt.txt"].decode()
    assert [b for b in body if b in excerpt] == []
    # The window is what the excerpt shows (which line of the pair matches is the signatures' business).
    shown = [int(ln.split(":", 1)[0]) for ln in excerpt.splitlines() if not ln.startswith("-----")]
    assert hit_at in shown or hit_at + 1 in shown
    assert len(shown) >= 11  # 5 lines of context either side of the hit
    # Everything from BEGIN to END is key material, the failure lines too when they sit inside the block.
    shown_key_lines = [n for n in shown if begin_at <= n <= end_at]
    for n in shown:
        assert (f"{n:>8}: <redacted:private-key>" in excerpt) == (n in shown_key_lines), n
    if (begin_at, end_at) != (10, 40):
        assert shown_key_lines
    manifest = json.loads(files["manifest.json"])
    keys = [r for r in manifest["redactions"] if r["kind"] == "private-key"]
    assert len(keys) == (1 if shown_key_lines else 0)
    if shown_key_lines:
        assert keys[0]["line"] == shown_key_lines[0] and keys[0]["file"] == "logs/k.log.excerpt.txt"


def test_a_workspace_link_out_of_the_workspace_is_left_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shadow = outside / "shadow"
    shadow.write_text("root:$6$Zq0lS4x9$abcdefghijklmnopqrstuvwxyzSHADOWHASH:19000:0:99999:7:::\n")
    work = tmp_path / "work"
    (work / "ci").mkdir(parents=True)
    (work / "Jenkinsfile").symlink_to(shadow)
    (work / ".env").symlink_to(shadow)
    result = run_bundle(work, base_env(tmp_path), "-o", str(work / "b.tgz"))
    assert result.returncode == 0, result.stderr
    files = extract(work / "b.tgz")
    assert b"SHADOWHASH" not in b"".join(files.values())
    assert "jenkins/Jenkinsfile" not in files and "earthly/dotenv" not in files
    notes = json.loads(files["manifest.json"])["notes"]
    assert any("Jenkinsfile: not included" in n and "outside the workspace" in n and str(shadow) in n for n in notes)
    assert any(".env: not included" in n for n in notes)


def test_a_link_inside_the_workspace_is_followed(tmp_path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "Jenkinsfile").write_text("pipeline { agent any }\n")
    (tmp_path / "Jenkinsfile").symlink_to("ci/Jenkinsfile")
    result = run_bundle(tmp_path, base_env(tmp_path), "-o", str(tmp_path / "b.tgz"))
    assert result.returncode == 0, result.stderr
    assert extract(tmp_path / "b.tgz")["jenkins/Jenkinsfile"] == b"pipeline { agent any }\n"


def test_a_fifo_or_device_is_never_read(tmp_path):
    os.mkfifo(tmp_path / "Jenkinsfile")
    (tmp_path / ".env").symlink_to("/dev/zero")
    began = time.monotonic()
    result = run_bundle(tmp_path, base_env(tmp_path), "-o", str(tmp_path / "b.tgz"))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - began < 60
    notes = json.loads(extract(tmp_path / "b.tgz")["manifest.json"])["notes"]
    assert any("Jenkinsfile: not included: not a regular file" in n for n in notes)
    assert any(".env: not included: not a regular file" in n for n in notes)


def _measure(tmp_path: Path, log: Path) -> tuple[int, float, str]:
    """Peak RSS (KiB) and CPU seconds of a `bundle` subprocess, measured by a parent that runs only it."""
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(r.returncode, u.ru_maxrss, u.ru_utime + u.ru_stime)\n"
        "sys.stderr.write(r.stderr.decode())\n"
    )
    cmd = [sys.executable, "-c", probe, sys.executable, "-m", "earthly_doctor", "bundle", "--docker-host",
           f"unix://{tmp_path}/none.sock", "--timeout", "2", "--log", str(log), "-o", str(tmp_path / "big.tgz")]
    done = subprocess.run(cmd, env=base_env(tmp_path), capture_output=True, text=True, check=False, timeout=300)
    code, rss, cpu = done.stdout.split()
    assert code == "0", done.stderr
    return int(rss), float(cpu), extract(tmp_path / "big.tgz")["logs/" + log.name + ".excerpt.txt"].decode()


def _one_line_log(path: Path, megabytes: int) -> None:
    redraw = b"              output | [ 42%] building layer 00042 of +image: copying files ...\r" * 1000
    failure = ERROR_PAIR.replace("\n", "\r").encode()
    with open(path, "wb") as f:
        for i in range(megabytes * 1024 * 1024 // len(redraw)):
            f.write(redraw)
            if i % 400 == 399:
                f.write(failure)


def test_a_200_mb_single_line_log_in_flat_memory_and_linear_time(tmp_path):
    small, big = tmp_path / "small.log", tmp_path / "big.log"
    _one_line_log(small, 50)
    _one_line_log(big, 200)
    rss_small, cpu_small, _ = _measure(tmp_path, small)
    rss_big, cpu_big, excerpt = _measure(tmp_path, big)
    assert rss_big < 100 * 1024, f"peak RSS {rss_big} KiB"
    assert rss_big < rss_small + 16 * 1024  # flat: four times the input costs no more memory
    assert cpu_big < 6 * cpu_small + 2, (cpu_small, cpu_big)  # linear (4x input); quadratic would be 16x
    assert "…[line cut: " in excerpt
    assert any(ln.lstrip().startswith("at the hit:") and "connection refused" in ln for ln in excerpt.splitlines())
    assert excerpt.count("\n") < 20


def test_escape_sequences_in_workspace_files_and_logs_do_not_reach_the_bundle(tmp_path):
    hostile = "\x1b]0;pwned\x07\x1b[2J\x9b1;1H\u202e\x08"
    (tmp_path / "Jenkinsfile").write_text(f"pipeline {{ // {hostile}\n}}\n")
    (tmp_path / "build.log").write_text(f"step {hostile}\n" + ERROR_PAIR)
    result = run_bundle(tmp_path, base_env(tmp_path), "--log", str(tmp_path / "build.log"), "-o", str(tmp_path / "b.tgz"))
    assert result.returncode == 0, result.stderr
    files = extract(tmp_path / "b.tgz")
    for name in ("jenkins/Jenkinsfile", "logs/build.log.excerpt.txt"):
        text = files[name].decode()
        assert not [c for c in ("\x1b", "\x07", "\x9b", "\u202e", "\x08") if c in text], name
        assert "pwned" not in text
    assert "pipeline {" in files["jenkins/Jenkinsfile"].decode()
