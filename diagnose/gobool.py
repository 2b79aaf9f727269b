"""Go's strconv.ParseBool, which urfave/cli applies to Earthly's boolean environment variables: one home for it."""

from __future__ import annotations

GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_go_bool(value: str) -> bool | None:
    """strconv.ParseBool; None for a value Go rejects."""
    if value in GO_TRUE:
        return True
    if value in GO_FALSE:
        return False
    return None
