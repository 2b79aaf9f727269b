"""Editors: each turns a file's text into the fixed text, keeping formatting, comments and line endings.

An editor is a pure function `text -> EditOutcome`; it raises `EditRefused(line, reason)` when it cannot edit
safely. Reading, backups and writing belong to the engine, so editors are trivially testable.
"""

from earthly_doctor.remedies.edit.text import EditOutcome, EditRefused, Splicer, newline_of

__all__ = ["EditOutcome", "EditRefused", "Splicer", "newline_of"]
