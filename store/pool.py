"""The asyncpg connection pool, with JSON codecs set once per connection."""

from __future__ import annotations

import asyncpg


async def create_pool(database_url: str, max_size: int = 4) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=max_size,
        command_timeout=60,
        server_settings={"application_name": "opsassist"},
    )
    return pool
