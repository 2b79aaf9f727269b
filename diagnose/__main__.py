"""`python -m earthly_doctor`."""

from earthly_doctor.cli import main

if __name__ == "__main__":
    main()
