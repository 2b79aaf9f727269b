"""Process exit codes (DESIGN §6): one home, so commands and tests agree."""

import enum


class ExitStatus(enum.IntEnum):
    OK = 0  # healthy, or nothing at/above --fail-on
    FINDINGS = 1  # a finding at or above --fail-on
    USAGE = 2  # bad arguments or input
    INTERNAL = 3  # a bug in earthly-doctor
