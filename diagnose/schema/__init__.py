"""JSON Schemas shipped with the package (report-v1.json: the report envelope of DESIGN §6a)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=None)
def load(name: str = "report-v1") -> dict[str, Any]:
    """The schema `name` (file name without `.json`), read from the installed package."""
    return json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
