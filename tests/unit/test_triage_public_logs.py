"""Real logs from public issue threads (tests/fixtures/logs/public/, sources in its SOURCES.md): each file's verdict
cause, its set of signature ids, and the fields the thread shows; plus the parallel-branch and copied-console
normalisation those logs exercise."""

from __future__ import annotations

from pathlib import Path

import pytest

from earthly_doctor.commands.triage import TriageRequest, triage
from earthly_doctor.triage.normalise import PipelineState, clean

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "logs" / "public"
PU, PPO, LRO = "proxy-unreachable", "proxy-pull-other-error", "loopback-refused-other"
DU, DPD = "docker-unreachable", "docker-permission-denied"
BF, FIF = "build-failed", "frontend-init-failed"

# file -> (verdict cause, signature ids, {signature: {field: value}} for its first finding)
EXPECTED: dict[str, tuple[str, set[str], dict[str, dict[str, object]]]] = {
    "earthly-3736-jenkins-timestamper.log": ("proxy-unreachable", {PU}, {PU: {
        "port": 35137, "stage": "Build image", "timestamp": "2024-01-22T23:20:55.244Z", "target": "+image",
        "node": "build-agent-7", "session": "jwd728vcbn4ni32eu360wnxmi", "store": "classic", "line": 15}}),
    "earthly-3736-verbose-proxy-started.log": ("proxy-unreachable", {PU}, {PU: {"port": 33849, "target": "+image"}}),
    "earthly-4265-port-42099.log": ("proxy-unreachable", {PU}, {PU: {
        "port": 42099, "session": "csirzcl9ycbj7hclnfyouzjk8", "target": "+image", "stage": None}}),
    "earthly-4265-port-42737.log": ("proxy-unreachable", {PU}, {PU: {"port": 42737, "errors": 1}}),
    "earthly-4265-expected-success.log": ("no-known-failure", set(), {}),
    "earthly-3769-wsl-spaces.log": ("proxy-unreachable", {PU}, {PU: {"port": 42179, "store": "classic"}}),
    "space-ros-240-containerd.log": ("proxy-unreachable", {PU}, {PU: {
        "port": 46171, "store": "containerd", "target": "+image", "session": "y11zuw0dc8z7i6cy62fxg8skr"}}),
    "earthly-3628-inline-cache-img-1.log": ("proxy-unreachable", {PU}, {PU: {
        "port": 34661, "image_index": 1, "target": "./buildkitd+buildkitd"}}),
    "earthbuild-338-gha-pulling-from.log": ("unknown", {PPO, BF}, {PPO: {
        "port": 44777, "image_index": 1,
        "reason": "error pulling image configuration: download failed after attempts=1: unexpected EOF"}}),
    "earthly-4220-darwin-wsl2-startup.log": ("no-known-failure", {"proxy-startup-failed"}, {}),
    "earthly-760-docker-group-wording.log": ("docker-unreachable", {DU}, {}),
    "earthly-2472-frontend-not-available.log": ("docker-unreachable", {DU, FIF}, {}),
    "earthly-3744-nested-target-prefix.log": ("docker-unreachable", {DU, FIF}, {DU: {
        "target": "./t/do-not-track+test-do-not-track"}}),
    "earthly-2873-buildkitd-crashed-at-start.log": ("unknown", {"buildkitd-crashed"}, {}),
    "space-ros-239-error-reading-from-server-eof.log": ("unknown", {"buildkit-connection-lost"}, {}),
    "earthly-2886-registry-timeout.log": ("no-known-failure", set(), {}),
    "jenkins-old-style-parallel-earthly.log": ("proxy-unreachable", {PU}, {PU: {
        "port": 39411, "stage": "Base image", "target": "+base-image", "node": "docker-agent-3"}}),
    "jenkins-parallel-timestamper-earthly.log": ("proxy-unreachable", {PU}, {PU: {
        "port": 41873, "stage": "Images", "timestamp": "2023-03-03T11:41:12.003Z", "occurrences": 2}}),
    "jenkins-html-copy-elapsed-earthly.log": ("proxy-unreachable", {PU}, {PU: {
        "port": 35137, "stage": "Image", "timestamp": "00:02:52.956", "target": "+image"}}),
    "jenkins-openj9-elapsed-timestamps.log": ("no-known-failure", set(), {}),
    "jenkins-evergreen-old-parallel-skipped.log": ("no-known-failure", set(), {}),
    "jenkins-old-style-permission-denied.log": ("docker-unreachable", {DPD}, {DPD: {
        "stage": "Build", "endpoint": "unix:///var/run/docker.sock"}}),
    "docker-socket-permission-denied.log": ("docker-unreachable", {DPD}, {DPD: {"endpoint": "unix:///var/run/docker.sock"}}),
    "gha-buildx-permission-denied-escaped.log": ("docker-unreachable", {DPD}, {}),
    "docker29-permission-denied-docker-api.log": ("docker-unreachable", {DPD}, {DPD: {
        "endpoint": "unix:///var/run/docker.sock"}}),
    "docker29-failed-to-connect-docker-api.log": ("docker-unreachable", {DU}, {DU: {
        "endpoint": "npipe:////./pipe/dockerDesktopLinuxEngine"}}),
    "gha-raw-timestamps-earthly.log": ("proxy-unreachable", {PU}, {PU: {
        "port": 42099, "timestamp": "2024-07-28T02:35:09.4411502Z", "target": "+image"}}),
    "lookalike-docker-host-localhost-2375.log": ("docker-unreachable", {DU}, {DU: {"endpoint": "tcp://localhost:2375"}}),
    # The docker CLI could not reach its daemon: that is docker-unreachable, whatever the OS (issue 13).
    "lookalike-docker-desktop-2375-connectex.log": ("docker-unreachable", {DU}, {DU: {"endpoint": "http://127.0.0.1:2375"}}),
    "lookalike-local-registry-v1-ping.log": ("no-known-failure", set(), {}),
    "lookalike-local-registry-ipv6.log": ("no-known-failure", {LRO}, {LRO: {"port": 5000, "addr": "[::1]:5000"}}),
    "lookalike-kubectl-6443.log": ("no-known-failure", {LRO}, {LRO: {"port": 6443}}),
    "lookalike-wsl-daemon-proxy-10809.log": ("no-known-failure", {LRO}, {LRO: {"port": 10809}}),
    "lookalike-postal-smtp-25.log": ("no-known-failure", {LRO}, {LRO: {"port": 25}}),
    "lookalike-testcontainers-ryuk.log": ("no-known-failure", set(), {}),
}


def test_every_public_log_is_expected_and_sourced():
    files = sorted(p.name for p in PUBLIC.glob("*.log"))
    assert files == sorted(EXPECTED)
    sources = (PUBLIC / "SOURCES.md").read_text(encoding="utf-8")
    assert [f for f in files if f"`{f}`" not in sources] == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_public_log_is_classified(name):
    cause, signatures, fields = EXPECTED[name]
    report = triage(TriageRequest([str(PUBLIC / name)]))
    assert report.verdict.cause == cause
    found = {f.extra["signature"]: f.extra for f in report.findings if f.extra.get("signature")}
    assert set(found) == signatures
    for sig, want in fields.items():
        assert {k: found[sig].get(k) for k in want} == want


def test_old_style_parallel_lines_get_their_own_branch_stage():
    state = PipelineState()
    for line in ("[Pipeline] stage", "[Pipeline] { (Images)", "[Pipeline] parallel",
                 "[Pipeline] [a] { (Branch: a)", "[Pipeline] [b] { (Branch: b)",
                 "[Pipeline] [a] stage", "[Pipeline] [a] { (Build a)"):
        assert state.observe(line)
    assert state.stage_for("[a] + earthly +a") == "Build a"
    assert state.stage_for("[b] + earthly +b") == "b"  # a branch with no stage of its own is named by the branch
    assert state.stage_for("[c] not a branch") == "Images"
    for line in ("[Pipeline] [a] }", "[Pipeline] [a] // stage", "[Pipeline] [a] }"):
        state.observe(line)
    assert state.branch_of("[a] late line") is None and state.branch_of("[b] x") == "b"


def test_interleaved_parallel_branches_report_the_enclosing_stage_only():
    state = PipelineState()
    for line in ("[Pipeline] stage", "[Pipeline] { (Images)", "[Pipeline] parallel",
                 "[Pipeline] { (Branch: amd64)", "[Pipeline] { (Branch: arm64)", "[Pipeline] stage",
                 "[Pipeline] { (amd64)", "[Pipeline] stage", "[Pipeline] { (arm64)"):
        state.observe(line)
    assert state.stage == "Images"
    for line in ("[Pipeline] }", "[Pipeline] // stage", "[Pipeline] }", "[Pipeline] }", "[Pipeline] // stage",
                 "[Pipeline] }", "[Pipeline] // parallel"):
        state.observe(line)
    assert state.stage == "Images" and state.parallels == []
    # One branch alone is unambiguous, and sequential stages after a parallel are tracked as before.
    for line in ("[Pipeline] parallel", "[Pipeline] { (Branch: only)", "[Pipeline] stage", "[Pipeline] { (Only)"):
        state.observe(line)
    assert state.stage == "Only"


def test_copied_console_and_github_actions_prefixes_are_the_timestamp():
    assert clean("00:02:52.956 Error: pull ping error") == ("Error: pull ping error", "00:02:52.956")
    assert clean("23:20:55                output | 100%") == ("              output | 100%", "23:20:55")
    assert clean("12:00:00 not a stamp")[1] is None
    assert clean("2024-07-28T02:35:09.4411502Z Error: x") == ("Error: x", "2024-07-28T02:35:09.4411502Z")
