"""Errors of the store layer."""


class SchemaMismatch(RuntimeError):
    """The database schema is not the one this code knows; the message says what to do."""
