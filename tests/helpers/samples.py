"""Sample reports covering every status and a log-triage finding, for renderer and schema tests."""

from __future__ import annotations

from earthly_doctor.model import Confidence, Evidence, Finding, Report, Severity, Status, Verdict

REFUSED = (
    'Get "http://127.0.0.1:35137/v2/": dial tcp 127.0.0.1:35137: connect: connection refused'
)


def failing_report() -> Report:
    """diagnose in a bridge container: ED110 passes, ED120 fails, one check crashed, one skipped."""
    findings = [
        Finding(
            "ED110", "Docker daemon reachable", Status.PASS, Severity.INFO, "API 1.43 at unix:///var/run/docker.sock",
            evidence=[Evidence("daemon_kind", "local", "docker API /info")], duration_ms=12, category="docker",
        ),
        Finding(
            "ED120", "Daemon reaches this namespace's loopback", Status.FAIL, Severity.HIGH,
            "the daemon could not reach 127.0.0.1:35137 here: " + REFUSED,
            evidence=[
                Evidence("port", 35137, "canary listener on 127.0.0.1"),
                Evidence("daemon_error", "\x1b[31m" + REFUSED + "\x1b[0m <&> \x07", "docker API /images/create"),
            ],
            remedies=["disable-proxy", "host-network", "pinned-port"], duration_ms=6, category="probe",
        ),
        Finding(
            "ED103", "Container network mode", Status.ERROR, Severity.MEDIUM,
            "the check crashed: RuntimeError: boom", category="container",
            detail="Traceback (most recent call last):\n  File \"x.py\", line 1\nRuntimeError: boom",
        ),
        Finding("ED131", "buildkitd port 8371", Status.SKIP, Severity.INFO, "no earthly-buildkitd container", category="earthly"),
        Finding("ED140", "Earthly settings", Status.WARN, Severity.MEDIUM, "EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY=flase is not a bool",
                category="earthly", remedies=["disable-proxy"]),
    ]
    verdict = Verdict(
        "proxy-unreachable-bridge-container",
        "Earthly's registry proxy would be unreachable: this process runs in a bridge-networked container.",
        Confidence.PROVEN, ["disable-proxy", "host-network", "pinned-port"], ["ED120: the daemon could not reach it"],
    )
    return Report(findings, verdict, "0.1.0", command="diagnose", duration_ms=40, warnings=["plugin x failed to load"])


def triage_report() -> Report:
    """Log triage: two ED160 findings with line, stage, port, session; one names its file."""
    def log_finding(line: int, port: int, stage: str, **more: object) -> Finding:
        return Finding(
            "ED160", "Known failure in the build log", Status.FAIL, Severity.HIGH,
            f"SAVE IMAGE export failed: the daemon could not reach Earthly's proxy on 127.0.0.1:{port}",
            evidence=[Evidence("log_line", REFUSED, f"build.log:{line}")],
            remedies=["disable-proxy"], category="logs",
            extra={"signature": "pullping-refused", "line": line, "timestamp": "2024-01-22T23:20:55.244Z",
                   "stage": stage, "port": port, "session": "sess-jwd728vcbn4ni32eu360wnxmi", **more},
        )

    findings = [
        log_finding(120, 35137, "Image", file="logs/build.log"),
        log_finding(480, 41234, "Push | deploy"),
    ]
    verdict = Verdict("proxy-unreachable", "The log shows Earthly's proxy pull refused.", Confidence.LIKELY,
                      ["disable-proxy", "host-network"], [])
    return Report(findings, verdict, "0.1.0", command="triage", duration_ms=3)


def healthy_report() -> Report:
    findings = [Finding("ED120", "Daemon reaches this namespace's loopback", Status.PASS, Severity.INFO, "reached", category="probe")]
    return Report(findings, Verdict("healthy", "All good.", Confidence.PROVEN), "0.1.0")


def empty_report() -> Report:
    return Report([], Verdict("no-known-failure", "The log shows no known failure.", Confidence.LIKELY), "0.1.0", command="triage")


ALL = {"failing": failing_report, "triage": triage_report, "healthy": healthy_report, "empty": empty_report}
