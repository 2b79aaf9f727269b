"""earthly-doctor: diagnose and fix Earthly's `SAVE IMAGE ... connection refused` on Jenkins and in containers."""

__version__ = "0.1.0"
