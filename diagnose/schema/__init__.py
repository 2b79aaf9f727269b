"""JSON Schemas shipped with the package (report-v1.json: the report envelope of DESIGN §6a)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str = "report-v1") -> dict[str, Any]:
    """The schema `name` (file name without `.json`), read from the installed package."""
    schema: dict[str, Any] = json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
    return schema
