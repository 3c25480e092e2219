"""Notification deliveries (admin): every attempt the notifier made to tell a route about an
incident's change, so an admin can see what reached whom, what is retrying and what gave up
(the dead-lettered ones wait on the notifications' dead-letter topic)."""

from __future__ import annotations

import enum
from datetime import datetime

import asyncpg
import strawberry
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.masking import graphql_error
from opsassist.api.graphql.pagination import Connection, connection, page_request
from opsassist.store.notifications import DeliveryFilter, deliveries_page


@strawberry.enum(description="The outcome of one delivery attempt.")
class DeliveryStatus(enum.Enum):
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"


@strawberry.type(
    description="One attempt to deliver an incident's change to a route (Slack, Teams, "
    "PagerDuty, e-mail, webhook)."
)
class NotificationDelivery:
    id: strawberry.ID
    incident_id: strawberry.ID
    route: str = strawberry.field(description="The route's name in the configuration.")
    transition: str = strawberry.field(description="opened or resolved")
    cycle: int = strawberry.field(
        description="Which opening of the incident (0 the first; a reopening starts the next)."
    )
    attempt: int = strawberry.field(description="1 for the first try, then each retry.")
    status: DeliveryStatus = strawberry.field(
        description="delivered; failed (will retry); dead-lettered (gave up after the last try)"
    )
    http_status: int | None = strawberry.field(
        description="The receiver's answer, when it answered over HTTP."
    )
    error: str | None = strawberry.field(
        description="Why it failed: the receiver's answer (its start) or the connection's "
        "error, through the privacy policy like every stored text."
    )
    at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> NotificationDelivery:
        return cls(
            id=strawberry.ID(str(row["id"])),
            incident_id=strawberry.ID(str(row["incident_id"])),
            route=row["route"],
            transition=row["transition"],
            cycle=row["cycle"],
            attempt=row["attempt"],
            status=DeliveryStatus(row["status"]),
            http_status=row["http_status"],
            error=row["error"],
            at=row["at"],
        )


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        description="Delivery attempts, newest first, optionally of one incident, route or "
        "status (admin)."
    )
    async def notification_deliveries(
        self,
        info: Info[Context, None],
        *,
        first: int | None = None,
        after: str | None = None,
        incident_id: strawberry.ID | None = None,
        route: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Connection[NotificationDelivery]:
        request = page_request(info, first, after, None, None)
        incident = None
        if incident_id is not None:
            incident = int_id(incident_id)
            if incident is None:
                raise graphql_error(f"no incident has the id {incident_id!r}", "BAD_USER_INPUT")
        store_filter = DeliveryFilter(incident, route, None if status is None else status.value)
        pool = info.context.pool
        return await connection(
            info,
            lambda req, size: deliveries_page(pool, store_filter, True, req, size),
            request,
            NotificationDelivery.from_row,
        )
