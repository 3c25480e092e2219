"""Log events: the type, its filter and the queries over it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.pagination import Connection, Order, connection, page_request
from opsassist.store.logs import LogEventFilter, log_events_by_ids, log_events_page


def json_value(value: Any) -> Any:
    """A jsonb column as asyncpg returns it (text) as data."""
    return orjson.loads(value) if isinstance(value, str) else value


@strawberry.type(description="One log line as stored, after enrichment and redaction.")
class LogEvent:
    id: strawberry.ID
    service: str
    host: str | None
    level: str | None
    ts: datetime
    message: str
    attributes: JSON
    source: str
    trace_id: str | None
    occurred_at: datetime
    received_at: datetime | None
    ingested_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LogEvent:
        return cls(
            id=strawberry.ID(row["event_id"]),
            service=row["service"],
            host=row["host"],
            level=row["level"],
            ts=row["ts"],
            message=row["message"],
            attributes=json_value(row["attributes"]),
            source=row["source"],
            trace_id=row["trace_id"],
            occurred_at=row["occurred_at"],
            received_at=row["received_at"],
            ingested_at=row["ingested_at"],
        )


@strawberry.input(description="All given conditions hold (lists: any of their values).")
class LogEventFilterInput:
    services: list[str] | None = None
    levels: list[str] | None = None
    since: datetime | None = strawberry.field(default=None, description="ts at or after")
    until: datetime | None = strawberry.field(default=None, description="ts before")
    text: str | None = strawberry.field(default=None, description="in the message, any case")
    trace_id: str | None = None

    def to_store(self) -> LogEventFilter:
        return LogEventFilter(
            services=self.services,
            levels=self.levels,
            since=self.since,
            until=self.until,
            text=self.text,
            trace_id=self.trace_id,
        )


@strawberry.type
class LogEventQueries:
    @strawberry.field(description="Log events, newest first unless ordered otherwise.")
    async def log_events(
        self,
        info: Info[Context, None],
        *,
        filter: LogEventFilterInput | None = None,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LogEvent]:
        request = page_request(info, first, after, last, before)
        store_filter = (filter or LogEventFilterInput()).to_store()
        pool = info.context.pool
        return await connection(
            info,
            lambda req, size: log_events_page(pool, store_filter, order.descending, req, size),
            request,
            LogEvent.from_row,
        )

    @strawberry.field
    async def log_event(self, info: Info[Context, None], id: strawberry.ID) -> LogEvent | None:
        rows = await log_events_by_ids(info.context.pool, [str(id)])
        return LogEvent.from_row(rows[0]) if rows else None
