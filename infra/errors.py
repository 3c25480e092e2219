"""Errors of the local services, worded for the person who has to fix them."""

from opsassist.endpoints import ServicesError


class InfraError(ServicesError):
    """A local service cannot be set up or started; the message says what to install or do."""
