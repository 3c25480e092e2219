"""Values of the schema's ``JSON`` scalar: the jsonb columns of the store's rows as data."""

from __future__ import annotations

from typing import Any

import orjson


def json_value(value: Any) -> Any:
    """A jsonb column as asyncpg returns it (text) as data."""
    return orjson.loads(value) if isinstance(value, str) else value
