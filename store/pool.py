"""The asyncpg connection pool. Its sessions are named after the schema this code knows
(``opsassist/<newest migration>``), which is how a contract migration sees that an older app
version is still connected (store/migrations.py)."""

from __future__ import annotations

import asyncpg

from store.migrations import app_session_name


async def create_pool(database_url: str, max_size: int = 4) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=max_size,
        command_timeout=60,
        server_settings={"application_name": app_session_name()},
    )
    return pool
