"""Entry-point loading: built-ins register like third parties; a broken plugin warns and the run goes on."""

from __future__ import annotations

from importlib.metadata import EntryPoint

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
