"""Tickets: the type (with triage, SLA and history), its filter and the queries over it.

The workflow mutations (status changes, triage corrections) belong in a module of their own
beside this one, merged into the schema the same way (api/graphql/schema.py).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from opsassist.api.graphql.context import Context
from opsassist.api.graphql.history import Version, delta_of, versions
from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.masking import HR_TICKET_TEXT_ROLES, hr_in_any_version, masked_fields
from opsassist.api.graphql.pagination import Connection, Order, connection, page_request
from opsassist.api.graphql.scalars import json_value
from opsassist.api.graphql.time_travel import state_filter, ticket_as_of, tickets_as_of_page
from opsassist.store.aggregates import ticket_count
from opsassist.store.paging import Page, PageRequest
from opsassist.store.tickets import (
    RESOLVED_STATUSES,
    TicketFilter,
    tickets_by_ids,
    tickets_page,
)


@strawberry.type(
    description="What triage decided and which layer produced it (rule, model, llm, human, or "
    "none when it abstained)."
)
class TriageDecision:
    layer: str | None
    model_version: str | None = strawberry.field(
        description="The learned model's version when the model (or the LLM after it) decided."
    )
    confidence: float | None
    needs_triage: bool
    category: str | None
    suggested_category: str | None
    explanation: str | None
    notes: list[str] | None
    #: the ticket was HR in some version (set for past states and versions: masking.py)
    hr_in_history: strawberry.Private[bool] = False


@strawberry.type(
    description="One comment of the ticket's conversation in its source system (a GitHub issue "
    "comment, a GitLab note), stored redacted as the ticket's body is."
)
class TicketComment:
    id: strawberry.ID = strawberry.field(description="The comment's id in the source system.")
    author_id: str | None = strawberry.field(
        description="Who wrote it in the source system (redacted as the privacy policy says). "
        "Masked (null) by role."
    )
    body: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TicketComment:
        return cls(
            id=strawberry.ID(row["comment_id"]),
            author_id=row["author_id"],
            body=row["body"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@strawberry.type
class Ticket:
    id: strawberry.ID
    source_system: str
    external_id: str
    title: str | None = strawberry.field(description="Masked (null) by role: see maskedFields.")
    body: str | None = strawberry.field(description="Masked (null) by role: see maskedFields.")
    reporter_id: str | None = strawberry.field(
        description="Who reported it in the source system (redacted as the privacy policy says). "
        "Masked (null) by role."
    )
    labels: list[str] | None
    status: str
    created_at: datetime
    updated_at: datetime
    trace_id: str | None
    category: str | None
    suggested_category: str | None
    priority: str | None
    team: str | None
    sla_due_at: datetime | None
    workflow_status: str = strawberry.field(
        description="Where the ticket is in Opsassist's workflow (open, triaged, in_progress, "
        "resolved, closed); status is what the source system last reported."
    )
    resolved_at: datetime | None
    reopened_count: int
    human_fields: list[str] = strawberry.field(
        description="The triage fields a person set (correctTriage); automatic triage keeps them."
    )
    correction: JSON | None = strawberry.field(
        description="The latest correction: fields (old and new values), by, reason, at."
    )
    version: int
    changed_by: str
    triage: TriageDecision
    _row_id: strawberry.Private[int]
    #: the ticket was HR in some version (set for past states and versions: masking.py)
    hr_in_history: strawberry.Private[bool] = False

    @strawberry.field(
        description="Past its SLA due time at the time of the query and resolved nowhere: "
        "neither in opsassist's workflow (workflowStatus) nor by the source system's status."
    )
    def sla_breached(self) -> bool:
        return (
            self.sla_due_at is not None
            and self.sla_due_at < datetime.now(UTC)
            and self.resolved_at is None
            and self.status.lower() not in RESOLVED_STATUSES
        )

    @strawberry.field(description="The fields your role sees as null although they hold values.")
    def masked_fields(self, info: Info[Context, None]) -> list[str]:
        return masked_fields(info.context.role, "Ticket", self)

    @strawberry.field(
        description="The conversation in the source system, oldest first (deleted comments "
        "left out); the current one, also for a past state. Masked (null) by role."
    )
    async def comments(self, info: Info[Context, None]) -> list[TicketComment] | None:
        rows = await info.context.loaders.ticket_comments.load(self._row_id)
        return [TicketComment.from_row(row) for row in rows]

    @strawberry.field(description="Every version, oldest first, with the fields each changed.")
    async def history(self, info: Info[Context, None]) -> list[Version]:
        changes = await info.context.loaders.ticket_changes.load(self._row_id)
        return self.versions_for(info.context.role, changes)

    def versions_for(self, role: str | None, changes: Sequence[asyncpg.Record]) -> list[Version]:
        """The versions, each masked as HR if the ticket was HR in any of them: the text of an
        HR version does not become ops' to read when the ticket leaves HR."""
        was_hr = self.hr_in_history or hr_in_any_version(map(delta_of, changes))
        ticket = replace(self, hr_in_history=was_hr)
        triage = replace(self.triage, hr_in_history=was_hr)

        def target(field: str) -> tuple[str, str, Any]:
            # The triage column carries the explanation: masked like it.
            if field == "triage":
                return ("TriageDecision", "explanation", triage)
            if field == "reporter":  # the column's name before migration 0010 renamed it
                return ("Ticket", "reporterId", ticket)
            return ("Ticket", field, ticket)

        return versions(changes, role, target)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, hr_in_history: bool = False) -> Ticket:
        """The ticket of a row; ``hr_in_history`` for a past state of a ticket that was HR in
        some version (its text is masked as HR's)."""
        details = json_value(row["triage"]) or {}
        return cls(
            id=strawberry.ID(str(row["id"])),
            source_system=row["source_system"],
            external_id=row["external_id"],
            title=row["title"],
            body=row["body"],
            reporter_id=row["reporter_id"],
            labels=list(row["labels"]),
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            trace_id=row["trace_id"],
            category=row["category"],
            suggested_category=row["suggested_category"],
            priority=row["priority"],
            team=row["team"],
            sla_due_at=row["sla_due_at"],
            workflow_status=row["workflow_status"],
            resolved_at=row["resolved_at"],
            reopened_count=row["reopened_count"],
            human_fields=list(row["human_fields"]),
            correction=json_value(row["correction"]),
            version=row["version"],
            changed_by=row["changed_by"],
            triage=TriageDecision(
                layer=row["triage_layer"],
                model_version=details.get("model_version"),
                confidence=row["triage_confidence"],
                needs_triage=row["needs_triage"],
                category=row["category"],
                suggested_category=row["suggested_category"],
                explanation=_summary(details.get("explanation")),
                notes=details.get("notes"),
                hr_in_history=hr_in_history,
            ),
            _row_id=row["id"],
            hr_in_history=hr_in_history,
        )


async def _hr_in_history(info: Info[Context, None], ids: Sequence[int]) -> set[int]:
    """The tickets among ``ids`` that were HR in some version: their past states are masked as
    HR (a past state that was not HR still holds the text that later was)."""
    histories = await info.context.loaders.ticket_changes.load_many(list(ids))
    return {
        ticket_id
        for ticket_id, changes in zip(ids, histories, strict=True)
        if hr_in_any_version(map(delta_of, changes))
    }


def _summary(explanation: Any) -> str | None:
    """The stored explanation's words (the worker stores ``{"summary", "rule", "terms"}``)."""
    if isinstance(explanation, dict):
        summary = explanation.get("summary")
        return str(summary) if summary is not None else None
    return None if explanation is None else str(explanation)


@strawberry.input(description="All given conditions hold (lists: any of their values).")
class TicketFilterInput:
    statuses: list[str] | None = None
    categories: list[str] | None = None
    priorities: list[str] | None = None
    teams: list[str] | None = None
    source_systems: list[str] | None = None
    needs_triage: bool | None = None
    since: datetime | None = strawberry.field(default=None, description="created at or after")
    until: datetime | None = strawberry.field(default=None, description="created before")
    text: str | None = strawberry.field(default=None, description="in title or body, any case")
    sla_breached: bool | None = strawberry.field(
        default=None, description="true: only tickets past their SLA due time and not resolved"
    )

    def to_store(self, role: str | None) -> TicketFilter:
        return TicketFilter(
            statuses=self.statuses,
            categories=self.categories,
            priorities=self.priorities,
            teams=self.teams,
            source_systems=self.source_systems,
            needs_triage=self.needs_triage,
            since=self.since,
            until=self.until,
            text=self.text,
            sla_breached_at=datetime.now(UTC) if self.sla_breached else None,
            text_skips_hr=role not in HR_TICKET_TEXT_ROLES,
        )


_FILTER_FIELDS = (
    "statuses", "categories", "priorities", "teams", "source_systems", "needs_triage", "since",
    "until", "text", "sla_breached",
)  # fmt: skip


@strawberry.enum
class TicketSort(enum.Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@strawberry.type
class TicketQueries:
    @strawberry.field(description="Tickets, newest first unless ordered otherwise.")
    async def tickets(
        self,
        info: Info[Context, None],
        *,
        filter: TicketFilterInput | None = None,
        sort: TicketSort = TicketSort.CREATED_AT,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="The tickets that existed at this time, as they were then, in id "
                "order (forwards only; filters on one value per field)."
            ),
        ] = None,
    ) -> Connection[Ticket]:
        request = page_request(info, first, after, last, before)
        pool = info.context.pool
        if as_of is not None:
            given = filter or TicketFilterInput()
            conditions = {name: getattr(given, name) for name in _FILTER_FIELDS}

            was_hr: set[int] = set()

            async def past(req: PageRequest, size: int) -> Page[dict[str, Any]]:
                page = await tickets_as_of_page(pool, as_of, state_filter(conditions), req, size)
                was_hr.update(await _hr_in_history(info, [row["id"] for row in page.rows]))
                return page

            return await connection(
                info,
                past,
                request,
                lambda row: Ticket.from_row(row, hr_in_history=row["id"] in was_hr),
            )
        store_filter = (filter or TicketFilterInput()).to_store(info.context.role)
        return await connection(
            info,
            lambda req, size: tickets_page(
                pool,
                store_filter,
                sort=sort.value,
                descending=order.descending,
                request=req,
                default_size=size,
            ),
            request,
            Ticket.from_row,
        )

    @strawberry.field
    async def ticket(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="The ticket as it was at this time; null if it did not exist yet."
            ),
        ] = None,
    ) -> Ticket | None:
        key = int_id(id)
        if key is None:
            return None
        if as_of is not None:
            past = await ticket_as_of(info.context.pool, key, as_of)
            if past is None:
                return None
            return Ticket.from_row(past, hr_in_history=bool(await _hr_in_history(info, [key])))
        rows = await tickets_by_ids(info.context.pool, [key])
        return Ticket.from_row(rows[0]) if rows else None

    @strawberry.field(description="How many tickets are past their SLA due time, not resolved.")
    async def sla_breach_count(
        self,
        info: Info[Context, None],
        *,
        filter: TicketFilterInput | None = None,
    ) -> int:
        given = filter or TicketFilterInput()
        given.sla_breached = True
        return await ticket_count(info.context.pool, given.to_store(info.context.role))
