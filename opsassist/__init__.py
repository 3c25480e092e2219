"""Opsassist. This package is the ground every layer stands on (settings, endpoints, logging) and
the one import name the layers install under: ``opsassist.streams``, ``opsassist.api``,
``opsassist.cli``
and the rest (docs/decisions/0004-layout.md)."""

from pathlib import Path

__version__ = "0.1.0"

# Here rather than in opsassist.settings, which imports pydantic-settings: the CLI needs the path
# for an option's default before it may pay for that (docs/decisions/0003-cli-startup.md).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
