"""The asyncpg connection pool. Its sessions are named after the schema this code knows
(``opsassist/<newest migration>``), which is how a contract migration sees that an older app
version is still connected (store/migrations.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from opsassist.store.migrations import app_session_name


async def _transaction_state_only(_conn: asyncpg.Connection) -> None:
    """A pool ``reset`` for code that keeps no session state: asyncpg still rolls back an open
    transaction and drops listeners before calling it, and nothing else needs undoing."""


async def create_pool(
    database_url: str,
    max_size: int = 4,
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    session_state: bool = True,
) -> asyncpg.Pool:
    """``init`` runs on each new connection (e.g. to count its queries).

    ``session_state=False`` promises that users of the pool leave no session state behind
    (``SET`` without ``LOCAL``, session advisory locks, ``LISTEN``, open cursors, prepared
    ``PREPARE``): a released connection then skips asyncpg's reset statement (``RESET ALL;
    UNLISTEN *; ...``), a round trip to the server per query that cost the API about 5 % of
    its time on GraphQL pages (py-spy, bench.graphql)."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=max_size,
        init=init,
        reset=None if session_state else _transaction_state_only,
        command_timeout=60,
        server_settings={"application_name": app_session_name()},
    )
    return pool
