"""The exceptions of the triage stage; the lead maps them once at the edges (CLI, API, DLQ)."""

from __future__ import annotations

from collections.abc import Iterable


class TriageError(Exception):
    """Base of every error the triage stage raises."""


class InvalidTriageConfig(TriageError):
    """The rules/taxonomy/SLA configuration is malformed; the message names the entry."""


class InvalidModel(TriageError):
    """Serialized model bytes that this version cannot load (corrupt, or an unknown format)."""


class NotEnoughTrainingData(TriageError):
    """Training needs at least two classes with examples each."""


class InvalidTransition(TriageError):
    """A status change the workflow does not allow; says what is allowed from the current one."""

    def __init__(self, current: str, requested: str, allowed: Iterable[str]) -> None:
        self.current = current
        self.requested = requested
        self.allowed = tuple(sorted(allowed))
        options = ", ".join(self.allowed) or "nothing (final status)"
        super().__init__(f"cannot go from {current!r} to {requested!r}; allowed: {options}")


class InvalidOverride(TriageError):
    """A correction names an unknown field, category or priority."""


class UnknownStatus(TriageError):
    """A status name that the workflow does not have."""
