"""Every example Jenkinsfile and every Jenkinsfile golden compiles as Groovy (Debian's groovy, the Jenkins dialect).

One JVM parses all files (`new GroovyShell().parse(file)`): declarative and scripted pipelines are plain Groovy
syntax, so a misplaced brace or quote from an editor fails here.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Jenkins provides the `@Library` annotation of shared libraries; a source-only stand-in lets plain Groovy parse it.
PARSE_ALL = r"""
import java.lang.annotation.*
@Retention(RetentionPolicy.SOURCE) @interface Library { String[] value() }
def shell = new GroovyShell(this.class.classLoader)
def bad = []
args.each { f ->
    try { shell.parse(new File(f)) }
    catch (Throwable e) { bad << "${f}: ${e.message?.readLines()?.take(3)?.join(' | ')}" }
}
bad.each { System.err.println(it) }
println "parsed ${args.length - bad.size()}/${args.length}"
System.exit(bad ? 1 : 0)
"""


def groovy_env() -> dict[str, str] | None:
    groovy = shutil.which("groovy")
    if not groovy:
        return None
    env = dict(os.environ)
    home = env.get("JAVA_HOME")
    if not home or not Path(home, "bin", "java").exists():
        candidates = ["/usr/lib/jvm/default-java"] + sorted(glob.glob("/usr/lib/jvm/*"))
        home = next((c for c in candidates if Path(c, "bin", "java").exists()), None)
        if home is None:
            return None
        env["JAVA_HOME"] = home
    return env


def test_jenkinsfiles_and_goldens_compile(tmp_path):
    env = groovy_env()
    if env is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but groovy or a JVM is missing")
        pytest.skip("groovy or a JVM is not installed (apt-get install groovy)")
    files = sorted(str(p) for p in (ROOT / "examples" / "jenkinsfiles").glob("**/*.Jenkinsfile"))
    files += sorted(str(p) for p in (ROOT / "tests" / "goldens" / "remedies").glob("*Jenkinsfile.*.expected"))
    assert len(files) > 30
    script = tmp_path / "parse_all.groovy"
    script.write_text(PARSE_ALL)
    proc = subprocess.run(["groovy", str(script), *files], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"parsed {len(files)}/{len(files)}" in proc.stdout
