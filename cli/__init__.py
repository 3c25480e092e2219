"""``opsassist``: the command line, the roof over every layer. ``main`` builds the command tree
(``opsassist.cli.main``); each command module keeps its heavy imports inside its commands."""

from opsassist.cli.main import app, main

__all__ = ["app", "main"]
