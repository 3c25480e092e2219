"""The asyncpg connection pool, with JSON codecs set once per connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg


async def create_pool(
    database_url: str,
    max_size: int = 4,
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> asyncpg.Pool:
    """``init`` runs on each new connection (e.g. to count its queries)."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=max_size,
        init=init,
        command_timeout=60,
        server_settings={"application_name": "opsassist"},
    )
    return pool
