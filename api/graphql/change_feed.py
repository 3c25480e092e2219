"""The change feeds behind the subscriptions: one PostgreSQL LISTEN connection per process and
channel, fanned out to every subscriber's queue (api/graphql/subscriptions.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import asyncpg
import orjson

TICKET_CHANNEL = "opsassist_ticket_changes"
INCIDENT_CHANNEL = "opsassist_incident_changes"
QUEUE_SIZE = 1000


class FeedLost(ConnectionError):
    """The listening connection was lost: changes may have been missed, so the subscription
    ends with this error and the client subscribes again (and re-reads what it shows)."""


_LOST = (0, 0)  # put in the queues when the listening connection goes


class ChangeFeed:
    """One LISTEN connection per process and channel, opened at the first subscriber (again
    after a loss). ``key`` names the entity id in the notifications."""

    def __init__(
        self, database_url: str, channel: str = TICKET_CHANNEL, key: str = "ticket_id"
    ) -> None:
        self._database_url = database_url
        self._channel = channel
        self._key = key
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._subscribers: set[asyncio.Queue[tuple[int, int]]] = set()

    async def _listen(self) -> None:
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                conn = await asyncpg.connect(
                    self._database_url, server_settings={"application_name": "opsassist-listen"}
                )
                await conn.add_listener(self._channel, self._notified)
                conn.add_termination_listener(self._lost)
                self._conn = conn

    def _lost(self, _conn: object) -> None:
        self._conn = None
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(_LOST)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        data = orjson.loads(payload)
        item = (int(data[self._key]), int(data["version"]))
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(item)

    async def changes(self) -> AsyncGenerator[tuple[int, int], None]:
        """(entity id, version) of each change from now on."""
        queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            await self._listen()
            while True:
                item = await queue.get()
                if item == _LOST:
                    raise FeedLost("the API lost its database notifications; subscribe again")
                yield item
        finally:
            self._subscribers.discard(queue)

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
