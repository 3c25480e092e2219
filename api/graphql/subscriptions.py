"""Live updates (graphql-transport-ws): ticket and incident changes, fed by PostgreSQL
LISTEN/NOTIFY.

Triggers (migrations 0013 and 0014) notify ``opsassist_ticket_changes`` and
``opsassist_incident_changes`` with the entity id and version of each change, whoever wrote it
(the worker, another API process, a migration). Each API process holds one listening connection
per channel and fans notifications out to its subscribers; each subscriber reads the change and
sees it masked for its own role. A subscriber that falls more than a queue behind loses the
oldest notifications rather than slowing the others.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

import strawberry
from strawberry.types import Info

from opsassist.api.graphql.change_feed import FeedLost
from opsassist.api.graphql.context import Context
from opsassist.api.graphql.history import Version, versions
from opsassist.api.graphql.logs import Incident
from opsassist.api.graphql.masking import check_root_access, graphql_error
from opsassist.api.graphql.tickets import Ticket
from opsassist.store.history import changes_of
from opsassist.store.logs import incidents_by_ids
from opsassist.store.tickets import tickets_by_ids


@strawberry.type(description="A ticket as it is after a change, and that change.")
class TicketChange:
    ticket: Ticket
    change: Version


@strawberry.type
class TicketSubscriptions:
    @strawberry.subscription(
        description="Every change of a ticket (or of the given tickets) from now on, masked "
        "for your role."
    )
    async def ticket_changes(
        self, info: Info[Context, None], ticket_ids: list[strawberry.ID] | None = None
    ) -> AsyncGenerator[TicketChange, None]:
        context = info.context
        check_root_access(info, "Subscription")
        wanted = {str(i) for i in ticket_ids} if ticket_ids else None
        feed = context.change_feed(context.ticket_feed)
        notifications = feed.changes()
        try:
            while True:
                try:
                    ticket_id, version = await anext(notifications)
                except FeedLost as exc:
                    raise graphql_error(str(exc), "UNAVAILABLE") from None
                if wanted is not None and str(ticket_id) not in wanted:
                    continue
                rows = await tickets_by_ids(context.pool, [ticket_id])
                if not rows:
                    continue
                ticket = Ticket.from_row(rows[0])
                history = await changes_of(context.pool, "ticket_changes", [ticket_id])
                for item in ticket.versions_for(context.role, history):
                    if item.version == version:
                        yield TicketChange(ticket=ticket, change=item)
        finally:
            await notifications.aclose()  # leaves the feed's subscribers at once


def _incident_target(incident: Incident) -> Callable[[str], tuple[str, str, Any]]:
    """What a changed field of ``incident`` is masked like (see api/graphql/history.py)."""
    return lambda field: ("Incident", field, incident)


@strawberry.type(
    description="An incident as it is after a change: the detector's (opened, updated, "
    "resolved) or a person's (acknowledged, assigned, resolved, reopened, a note, a link)."
)
class IncidentChange:
    incident: Incident
    change: Version


@strawberry.type
class IncidentSubscriptions:
    @strawberry.subscription(
        description="Every change of an incident from now on, the detector's and people's (of "
        "the given services, or all)."
    )
    async def incident_changes(
        self, info: Info[Context, None], services: list[str] | None = None
    ) -> AsyncGenerator[IncidentChange, None]:
        context = info.context
        check_root_access(info, "Subscription")
        wanted = set(services) if services else None
        feed = context.change_feed(context.incident_feed)
        notifications = feed.changes()
        try:
            while True:
                try:
                    incident_id, version = await anext(notifications)
                except FeedLost as exc:
                    raise graphql_error(str(exc), "UNAVAILABLE") from None
                rows = await incidents_by_ids(context.pool, [incident_id])
                if not rows or (wanted is not None and rows[0]["service"] not in wanted):
                    continue
                incident = Incident.from_row(rows[0])
                history = await changes_of(context.pool, "incident_changes", [incident_id])
                items = versions(history, context.role, _incident_target(incident))
                for item in items:
                    if item.version == version:
                        yield IncidentChange(incident=incident, change=item)
        finally:
            await notifications.aclose()
