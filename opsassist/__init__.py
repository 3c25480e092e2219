"""Opsassist: the CLI, the settings and the logging set-up shared by every process."""

__version__ = "0.1.0"
