"""The remedy titles now live in `earthly_doctor.remedy_catalog` (reports read them and must not import remedies)."""

from __future__ import annotations

from earthly_doctor.remedy_catalog import CATALOG, RemedyInfo, describe

__all__ = ["CATALOG", "RemedyInfo", "describe"]
