"""Opsassist: the CLI, the settings and the logging set-up shared by every process."""

from pathlib import Path

__version__ = "0.1.0"

# Here rather than in opsassist.settings, which imports pydantic-settings: the CLI needs the path
# for an option's default before it may pay for that (docs/decisions/0003-cli-startup.md).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
