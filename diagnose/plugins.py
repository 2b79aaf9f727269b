"""Entry-point loading for checks and remedies: a broken plugin costs a warning line, never the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

CHECK_GROUP = "earthly_doctor.checks"
REMEDY_GROUP = "earthly_doctor.remedies"


@dataclass
class Loaded:
    items: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_group(group: str, *, instantiate: bool = True) -> Loaded:
    loaded = Loaded()
    seen: set[str] = set()
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        if ep.name in seen:  # the same distribution installed twice (e.g. editable + wheel) lists twice
            continue
        seen.add(ep.name)
        try:
            obj = ep.load()
            loaded.items.append(obj() if instantiate and isinstance(obj, type) else obj)
        except Exception as exc:  # noqa: BLE001 -- any import-time failure of a third-party plugin is its bug, not ours
            loaded.warnings.append(f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}")
    return loaded


def load_checks() -> Loaded:
    loaded = load_group(CHECK_GROUP)
    valid: list[Any] = []
    codes: set[str] = set()
    for check in loaded.items:
        code = getattr(check, "code", None)
        if not code or not hasattr(check, "run"):
            loaded.warnings.append(f"plugin {check!r} is not a check (no code or run method); ignored")
            continue
        if code in codes:
            loaded.warnings.append(f"two checks claim code {code}; the second ({type(check).__module__}) is ignored")
            continue
        codes.add(code)
        valid.append(check)
    loaded.items = sorted(valid, key=lambda c: c.code)
    return loaded


def select(checks: list[Any], only: list[str] | None, skip: list[str] | None) -> tuple[list[Any], list[str]]:
    """Filter by code or category (case-insensitive); returns the checks and the unknown selectors."""
    known = {c.code.lower() for c in checks} | {c.category.lower() for c in checks}

    def matches(check: Any, selectors: list[str]) -> bool:
        wanted = {s.lower() for s in selectors}
        return check.code.lower() in wanted or check.category.lower() in wanted

    only = [s for part in (only or []) for s in part.split(",") if s.strip()]
    skip = [s for part in (skip or []) for s in part.split(",") if s.strip()]
    unknown = [s for s in only + skip if s.lower() not in known]
    chosen = [c for c in checks if (not only or matches(c, only)) and not matches(c, skip)]
    return chosen, unknown
