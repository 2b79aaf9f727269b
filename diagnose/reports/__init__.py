"""Renderers: one model, many formats. Each renderer turns a Report into text and knows no check."""

from __future__ import annotations

import re
from typing import Callable

from earthly_doctor.model import Report

# name -> "module:function"; imported only when used so a JSON run never imports rich.
_RENDERERS: dict[str, str] = {
    "text": "earthly_doctor.reports.text:render_plain",
    "json": "earthly_doctor.reports.json_report:render",
    "junit": "earthly_doctor.reports.junit:render",
    "warnings-ng": "earthly_doctor.reports.warnings_ng:render",
    "sarif": "earthly_doctor.reports.sarif:render",
    "markdown": "earthly_doctor.reports.markdown:render",
}


def register(name: str, target: str) -> None:
    """Formats added by later modules (junit, sarif, …) register here."""
    _RENDERERS[name] = target


def formats() -> list[str]:
    return sorted(_RENDERERS)


def renderer(name: str) -> Callable[..., str]:
    if name not in _RENDERERS:
        raise KeyError(name)
    import importlib

    module, func = _RENDERERS[name].split(":")
    renderer: Callable[..., str] = getattr(importlib.import_module(module), func)
    return renderer


# Any surrogate code point in a str is a lone one: a path from argv or a file name that was not UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


def render(name: str, report: Report, **options: object) -> str:
    """Every format renders a sanitised report (strings from logs and servers redacted and cleaned first), always
    encodable as UTF-8 (a lone surrogate becomes U+FFFD)."""
    from earthly_doctor.sanitize import sanitize_report

    return _SURROGATE.sub("\ufffd", renderer(name)(sanitize_report(report), **options))
