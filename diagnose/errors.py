"""Expected failures that end a command with one clear line instead of a traceback."""


class UsageError(Exception):
    """Bad input from the user (arguments, files): exit 2, nothing changed."""


class DoctorError(Exception):
    """An expected failure of the environment (a file that cannot be read, a server that is down): exit 2."""
