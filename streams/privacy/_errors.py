"""Errors of the privacy stage, so callers can tell a bad policy from anything else."""

from __future__ import annotations


class PrivacyError(Exception):
    """Base of every error the privacy stage raises."""


class PolicyError(PrivacyError):
    """A redaction policy file is invalid (unreadable, not TOML, unknown type or action)."""
