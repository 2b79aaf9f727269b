"""Remedies: the remedy engine and one module per remedy, registered under `earthly_doctor.remedies`."""
