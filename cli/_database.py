"""The one way a command talks to PostgreSQL: a connection for one action, closed after."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import asyncpg

T = TypeVar("T")


def on_database(url: str, action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """``action`` on a fresh connection to ``url``, in its own event loop; errors propagate for
    the command to explain."""

    # imported here, not above: every command module imports this one, and the CLI starts
    # without the driver or the event loop (docs/decisions/0003-cli-startup.md)
    import asyncio

    import asyncpg

    async def run() -> T:
        conn = await asyncpg.connect(url)
        try:
            return await action(conn)
        finally:
            await conn.close()

    return asyncio.run(run())
