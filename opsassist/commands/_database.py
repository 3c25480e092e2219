"""The one way a command talks to PostgreSQL: a connection for one action, closed after."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


def on_database(url: str, action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """``action`` on a fresh connection to ``url``, in its own event loop; errors propagate for
    the command to explain."""

    async def run() -> T:
        conn = await asyncpg.connect(url)
        try:
            return await action(conn)
        finally:
            await conn.close()

    return asyncio.run(run())
