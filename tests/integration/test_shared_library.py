"""The Jenkins shared library (jenkins/vars/*.groovy) under Debian's groovy 2.4 (the version Jenkins bundles).

tests/jenkins/run.groovy loads each var into PipelineHarness (stub steps that record calls) and runs the Groovy tests;
here each Groovy test becomes one pytest test. The fixtures it reads are real reports rendered from
tests/helpers/samples.py, and the real-shell tests run the actual CLI and the actual install script.
Without groovy the tests skip; with CI=true they fail instead (CI must install it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from earthly_doctor import reports
from tests.helpers import samples
from tests.helpers.native_formats import junit_cases, sarif_log, wng_issues
from tests.helpers.schema import assert_valid_report
from tests.unit.test_report_schema import EARTHLY_FAILURE_LOG

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "jenkins"
TESTS = ROOT / "tests" / "jenkins"
HARNESS_FILES = sorted(p.name for p in TESTS.glob("*Test.groovy") if p.name != "realShellTest.groovy")
RUN_TIMEOUT = 300  # seconds for one groovy run; the suite takes a few seconds on the 2-core machine
FORMATS = ("json", "junit", "warnings-ng", "sarif", "markdown")


def _names(path: Path) -> list[str]:
    names = re.findall(r"^test\('((?:[^'\\]|\\.)*)'\)", path.read_text(), flags=re.M)
    assert len(names) == len(re.findall(r"^test\(", path.read_text(), flags=re.M)), f"{path.name}: name tests in single quotes"
    return names


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _java_home() -> str | None:
    """The Debian groovy wrapper needs JAVA_HOME (it looks for /usr/lib/jvm/default-java otherwise)."""
    current = os.environ.get("JAVA_HOME")
    if current and Path(current, "bin", "java").exists():
        return current
    java = shutil.which("java")
    return str(Path(java).resolve().parents[1]) if java else None


@pytest.fixture(scope="module")
def groovy_env():
    groovy = shutil.which("groovy")
    java_home = _java_home()
    if not groovy or not java_home:
        reason = "groovy (Debian package `groovy`) and a JDK are needed for the shared-library tests"
        if _ci():
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    env = dict(os.environ, JAVA_HOME=java_home, NO_COLOR="1")
    return groovy, env


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-fixtures")
    for name, make in samples.ALL.items():
        for fmt in FORMATS:
            (out / f"{name}.{fmt}").write_text(reports.render(fmt, make()), encoding="utf-8")
    return out


def run_groovy(groovy_env, fixtures: Path, work: Path, *tests: Path, extra_env: dict | None = None) -> tuple[int, str]:
    groovy, env = groovy_env
    cmd = [groovy, str(TESTS / "run.groovy"), str(LIBRARY), str(fixtures), str(work), *map(str, tests)]
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env={**env, **(extra_env or {})}, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"groovy did not finish within {RUN_TIMEOUT}s: {exc.stdout}")
    return proc.returncode, proc.stdout + proc.stderr


def outcomes(output: str) -> dict[str, str]:
    """'PASS name' / 'FAIL name' lines, each with the indented detail lines that follow a failure."""
    result: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        m = re.match(r"^(PASS|FAIL) (.*)$", line)
        if m:
            current = m.group(2)
            result[current] = m.group(1)
        elif current and line.startswith("    ") and result[current].startswith("FAIL"):
            result[current] += "\n" + line
    return result


@pytest.fixture(scope="module")
def harness_run(groovy_env, fixtures, tmp_path_factory):
    work = tmp_path_factory.mktemp("groovy-work")
    rc, output = run_groovy(groovy_env, fixtures, work, *(TESTS / name for name in HARNESS_FILES))
    return rc, output, outcomes(output)


CASES = [(file, name) for file in HARNESS_FILES for name in _names(TESTS / file)]


@pytest.mark.parametrize("file, name", CASES, ids=[f"{f.removesuffix('Test.groovy')}: {n}" for f, n in CASES])
def test_groovy(harness_run, file, name):
    _, output, results = harness_run
    assert name in results, f"{file}: test {name!r} did not run:\n{output[-3000:]}"
    assert results[name] == "PASS", results[name]


def test_groovy_run_is_complete(harness_run):
    rc, output, results = harness_run
    assert len(results) == len(CASES), output[-3000:]
    assert rc == 0 and f"{len(CASES)} passed, 0 failed" in output, output[-3000:]


@pytest.fixture(scope="module")
def bundled_resources(tmp_path_factory) -> Path:
    """jenkins/bundle-wheels.sh (the release step) run on a copy of the source tree (the checkout is left untouched).

    --no-deps: no index is reachable here, so the dependencies are not bundled (the venv sees this machine's).
    """
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("diagnose", "checks", "remedies", "jenkins"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.whl"))
    out = src / "resources-out"
    env = dict(os.environ, OUT=str(out / "io" / "earthlydoctor"), PYTHON=sys.executable, PIP_ARGS="--no-build-isolation")
    proc = subprocess.run(
        ["sh", str(src / "jenkins" / "bundle-wheels.sh"), "--no-deps"],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = out / "io" / "earthlydoctor"
    manifest = (folder / "wheels.txt").read_text().splitlines()
    wheel = f"earthly_doctor-{_version()}-py3-none-any.whl"
    digest = hashlib.sha256((folder / wheel).read_bytes()).hexdigest()
    assert [line for line in manifest if not line.startswith("#")] == [
        f"version {_version()}", "deps index", f"{wheel} sha256:{digest}"
    ]
    return out


def _version() -> str:
    from earthly_doctor import __version__

    return __version__


@pytest.mark.slow
def test_real_shell(groovy_env, fixtures, bundled_resources, tmp_path):
    """The step's shell scripts for real: the CLI flags it passes exist, its reports are the ones the plugins read."""
    tool = tmp_path / "earthly-doctor"
    tool.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m earthly_doctor "$@"\n')
    tool.chmod(0o755)
    log = tmp_path / "earthly.log"
    log.write_text(EARTHLY_FAILURE_LOG)
    work = tmp_path / "work"
    rc, output = run_groovy(
        groovy_env, fixtures, work, TESTS / "realShellTest.groovy",
        extra_env={"ED_TOOL": str(tool), "ED_RESOURCES": str(bundled_resources), "ED_PYTHON": sys.executable,
                   "ED_SAMPLE_LOG": str(log)},
    )
    expected = len(_names(TESTS / "realShellTest.groovy"))
    assert rc == 0 and f"{expected} passed, 0 failed" in output, output[-4000:]

    reports_dir = work / "ws-1" / "earthly-doctor"
    data = json.loads((reports_dir / "diagnose.json").read_text())
    assert_valid_report(data)
    cases, _ = junit_cases((reports_dir / "diagnose-junit.xml").read_text())
    assert any(c["kind"] == "failure" and c["type"] == "ED110" for c in cases)
    issues = wng_issues((reports_dir / "diagnose-issues.json").read_text())
    assert [i["type"] for i in issues] == ["ED110"] and issues[0]["severity"] == "ERROR"
    sarif_log((reports_dir / "diagnose.sarif").read_text())
    assert (reports_dir / "diagnose.md").read_text().startswith("**earthly-doctor diagnose: PROBLEM**: `docker-unreachable`")


SANDBOX = TESTS / "sandbox"


def _sandbox_check(groovy_env, library: Path) -> tuple[int, str]:
    groovy, env = groovy_env
    proc = subprocess.run(
        [groovy, str(SANDBOX / "SandboxCheck.groovy"), str(library)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_sandbox_every_call_of_the_vars_is_whitelisted(groovy_env):
    """Each var compiled by Groovy 2.4's type checker, each call judged against script-security's own lists (a5f0130).

    A stand-in for a real folder library in a Jenkins: the members are the ones Groovy resolves and the lists are the
    plugin's files, so a call the sandbox would reject (and queue for an administrator's approval) fails here.
    """
    rc, output = _sandbox_check(groovy_env, LIBRARY)
    assert rc == 0, output
    checked = int(re.search(r"(\d+) calls checked, 0 problems", output).group(1))
    vars_ = sorted(p.stem for p in (LIBRARY / "vars").glob("*.groovy"))
    assert checked > 300 and vars_ == ["earthlyBuild", "earthlyDoctor", "earthlyDoctorFleet"], output


def test_sandbox_check_reports_what_the_sandbox_rejects(groovy_env):
    """The calls the review found (Collection.max(), JsonSlurperClassic, e.causes, rawBuild) and two the check refuses
    to guess at (an untyped receiver, an unknown step) are each reported, with their line."""
    rc, output = _sandbox_check(groovy_env, SANDBOX / "rejected")
    assert rc == 1
    dgm, steps, build = "org.codehaus.groovy.runtime.", "org.jenkinsci.plugins.workflow.", "support.steps.build."
    for expected in (
        f"rejected.groovy:6: not whitelisted: staticMethod {dgm}DefaultGroovyMethods max java.util.Collection",
        "rejected.groovy:7: not whitelisted: new groovy.json.JsonSlurperClassic",
        f"rejected.groovy:11: not whitelisted: method {steps}steps.FlowInterruptedException getCauses",
        f"rejected.groovy:13: blacklisted: method {steps}{build}RunWrapper getRawBuild",
        "rejected.groovy:15: cannot see what .trim() calls",
        "rejected.groovy:16: unknown step or method shh()",
    ):
        assert expected in output, output


def test_sandbox_lists_are_the_plugins_files():
    """The vendored lists are script-security's files, unchanged: known entries present, sizes as at a5f0130."""
    generic = (SANDBOX / "generic-whitelist").read_text().splitlines()
    blacklist = (SANDBOX / "blacklist").read_text().splitlines()
    jenkins = (SANDBOX / "jenkins-whitelist").read_text().splitlines()
    assert (len(generic), len(blacklist), len(jenkins)) == (1407, 116, 40)
    assert "staticMethod java.util.Collections max java.util.Collection" in generic
    assert "method org.jenkinsci.plugins.workflow.support.steps.build.RunWrapper getRawBuild" in blacklist
    assert "a5f0130aa482d488cd9820b09de7dcd69cfce0c7" in (SANDBOX / "SOURCES.md").read_text()
