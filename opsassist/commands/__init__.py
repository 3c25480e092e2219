"""One module per CLI command group; ``opsassist.cli`` wires them into the ``opsassist`` command."""
