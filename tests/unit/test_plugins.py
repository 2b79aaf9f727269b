"""Entry-point loading: built-ins register like third parties; a broken plugin warns and the run goes on."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from earthly_doctor import plugins
from earthly_doctor.plugins import load_checks, select


def test_builtin_checks_are_registered_through_entry_points():
    codes = [c.code for c in load_checks().items]
    assert "ED110" in codes and "ED120" in codes
    assert codes == sorted(codes)


def test_a_plugin_that_fails_to_import_is_a_warning(monkeypatch):
    real = plugins.entry_points

    def fake(group):
        eps = list(real(group=group))
        return eps + [EntryPoint("EDX99", "no_such_module_for_earthly_doctor:Thing", group)]

    monkeypatch.setattr(plugins, "entry_points", fake)
    loaded = load_checks()
    assert "ED110" in [c.code for c in loaded.items]
    assert any("EDX99" in w and "ModuleNotFoundError" in w for w in loaded.warnings)


def test_a_plugin_that_is_not_a_check_is_ignored_with_a_warning(monkeypatch):
    real = plugins.entry_points
    monkeypatch.setattr(plugins, "entry_points", lambda group: list(real(group=group)) + [EntryPoint("junk", "os:sep", group)])
    loaded = load_checks()
    assert any("not a check" in w for w in loaded.warnings)


def test_select_by_code_and_category_and_report_unknown():
    checks = load_checks().items
    chosen, unknown = select(checks, ["ed120"], None)
    assert [c.code for c in chosen] == ["ED120"] and unknown == []
    chosen, _ = select(checks, ["docker"], None)
    assert "ED110" in [c.code for c in chosen]
    chosen, _ = select(checks, None, ["ED110,ED120"])
    assert not {"ED110", "ED120"} & {c.code for c in chosen}
    _, unknown = select(checks, ["ED999"], None)
    assert unknown == ["ED999"]


def _with_plugin(monkeypatch):
    real = plugins.entry_points
    extra = EntryPoint("ACME1", "tests.helpers.plugin_check:CertExpiry", plugins.CHECK_GROUP)
    monkeypatch.setattr(plugins, "entry_points",
                        lambda group: list(real(group=group)) + ([extra] if group == plugins.CHECK_GROUP else []))


@pytest.mark.parametrize(("days", "cause"), [(-3, "acme:buildkitd-cert-expired"), (3, "healthy"), (30, "healthy")])
def test_a_plugin_check_contributes_evidence_and_through_its_declared_rule_a_cause(monkeypatch, tmp_path, days, cause):
    """Loaded through the entry-point group like any plugin, run with the built-ins on a recorded healthy host."""
    from earthly_doctor.commands.diagnose import DiagnoseRequest, diagnose
    from tests.helpers.recorded import RecordedDaemon, daemon_handle, recorded_context
    from tests.helpers.schema import assert_valid_report

    _with_plugin(monkeypatch)
    handle = daemon_handle("unix:///var/run/docker.sock", "default socket", RecordedDaemon(shares_loopback=True))
    ctx = recorded_context("not-containerized", tmp_path, env={"ACME_CERT_DAYS_LEFT": str(days)}, handle=handle)
    report = diagnose(ctx, DiagnoseRequest())
    assert report.verdict.cause == cause
    plugin_steps = [step for step in report.verdict.chain if step.startswith("ACME1: ")]
    assert bool(plugin_steps) == (days < 7)  # a warning or failure of a plugin joins the evidence chain
    assert_valid_report(report.to_dict())
