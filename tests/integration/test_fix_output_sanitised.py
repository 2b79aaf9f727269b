"""`fix` shows diffs of files a committer controls: escape sequences in them must not reach the terminal."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_fix_cli import ROOT, cli, write_report

HOSTILE = " // \x1b]0;pwned\x07\x1b[2J\x9b1;1H\u202e\x08"


def test_a_hostile_jenkinsfile_diff_is_shown_clean(tmp_path: Path):
    lines = (ROOT / "examples/jenkinsfiles/crlf.Jenkinsfile").read_bytes().decode().split("\r\n")
    (tmp_path / "Jenkinsfile").write_bytes("\r\n".join(ln + HOSTILE if ln.strip() else ln for ln in lines).encode())
    write_report(tmp_path / "report.json")
    proc = cli(tmp_path, "--from", "report.json")
    assert proc.returncode == 0, proc.stderr
    assert "+++ b/Jenkinsfile" in proc.stdout and "// " in proc.stdout
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\x08", "pwned"):
        assert bad not in proc.stdout + proc.stderr, repr(bad)
