"""The asyncpg connection pool. Its sessions are named after the schema this code knows
(``opsassist/<newest migration>``), which is how a contract migration sees that an older app
version is still connected (store/migrations.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from store.migrations import app_session_name


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
        server_settings={"application_name": app_session_name()},
    )
    return pool
