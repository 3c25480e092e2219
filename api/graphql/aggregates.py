"""Counts per time bucket for dashboards (log events by level or service, tickets by category,
priority, status or team)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import strawberry
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.logs import LogEventFilterInput
from opsassist.api.graphql.masking import graphql_error
from opsassist.api.graphql.tickets import TicketFilterInput
from opsassist.store.aggregates import log_event_counts, ticket_counts


@strawberry.enum
class Bucket(enum.Enum):
    MINUTE = 60
    FIVE_MINUTES = 300
    HOUR = 3600
    DAY = 86400


@strawberry.enum
class LogEventDimension(enum.Enum):
    LEVEL = "level"
    SERVICE = "service"


@strawberry.enum
class TicketDimension(enum.Enum):
    CATEGORY = "category"
    PRIORITY = "priority"
    STATUS = "status"
    TEAM = "team"


@strawberry.type(description="How many items had this key in the bucket starting at start.")
class BucketCount:
    start: datetime
    key: str = strawberry.field(description="The dimension's value ('' when it has none).")
    count: int


def _check_range(
    info: Info[Context, None], since: datetime, until: datetime, bucket: Bucket
) -> None:
    if until <= since:
        raise graphql_error("until must be after since", "BAD_USER_INPUT")
    if since.tzinfo is None or until.tzinfo is None:
        raise graphql_error("since and until need a UTC offset", "BAD_USER_INPUT")
    maximum = info.context.settings.graphql_max_buckets
    if (until - since) / timedelta(seconds=bucket.value) > maximum:
        raise graphql_error(
            f"more than {maximum} buckets: use a wider bucket or a shorter range "
            "(OPSASSIST_GRAPHQL_MAX_BUCKETS)",
            "BAD_USER_INPUT",
        )


@strawberry.type
class AggregateQueries:
    @strawberry.field(description="Log events per time bucket and level (or service).")
    async def log_event_counts(
        self,
        info: Info[Context, None],
        *,
        by: LogEventDimension,
        bucket: Bucket,
        since: datetime,
        until: datetime,
        filter: LogEventFilterInput | None = None,
    ) -> list[BucketCount]:
        _check_range(info, since, until, bucket)
        rows = await log_event_counts(
            info.context.pool,
            by.value,
            filter_=(filter or LogEventFilterInput()).to_store(),
            bucket=timedelta(seconds=bucket.value),
            since=since,
            until=until,
        )
        return [BucketCount(start=r["bucket"], key=r["key"], count=r["count"]) for r in rows]

    @strawberry.field(
        description="Tickets per bucket of their creation time and category (or other)."
    )
    async def ticket_counts(
        self,
        info: Info[Context, None],
        *,
        by: TicketDimension,
        bucket: Bucket,
        since: datetime,
        until: datetime,
        filter: TicketFilterInput | None = None,
    ) -> list[BucketCount]:
        _check_range(info, since, until, bucket)
        rows = await ticket_counts(
            info.context.pool,
            by.value,
            filter_=(filter or TicketFilterInput()).to_store(info.context.role),
            bucket=timedelta(seconds=bucket.value),
            since=since,
            until=until,
        )
        return [BucketCount(start=r["bucket"], key=r["key"], count=r["count"]) for r in rows]
