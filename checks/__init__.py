"""Built-in checks. Each module holds one check (or one family) and registers under `earthly_doctor.checks`."""
