"""The numbered SQL migrations, shipped as package data and read by
``opsassist.store.migrations``."""
