"""Tickets as the API lists them, and their SLA breaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from opsassist.store.paging import Listing, Page, PageRequest, Sort, Where, like_pattern

#: Statuses (compared in lower case) that end a ticket's SLA clock. Ticket sources name their
#: statuses freely; these are the names the common trackers use for "finished".
RESOLVED_STATUSES = ("resolved", "closed", "done", "cancelled", "canceled", "rejected", "fixed")
#: The triage category whose text only some roles may read (see api/graphql/masking.py).
HR_CATEGORY = "hr"

SELECT = """
SELECT id, source_system, external_id, title, body, reporter_id, status, labels, created_at,
       updated_at, trace_id, changed_by, version, row_updated_at, category, suggested_category,
       priority, team, triage_confidence, needs_triage, triage_layer, triage, sla_due_at,
       workflow_status, resolved_at, reopened_count, human_fields, correction
FROM tickets
"""
SORTS = {
    "created_at": Sort("created_at", "created_at", "created_at", (("id", "id"),)),
    "updated_at": Sort("updated_at", "updated_at", "updated_at", (("id", "id"),)),
}
# Written out (not bound) so that the partial index of migration 0013, which has the same
# predicate, serves the SLA breach queries.
UNRESOLVED = "lower(status) NOT IN ({})".format(", ".join(f"'{s}'" for s in RESOLVED_STATUSES))
# Past due and finished nowhere: neither the source system's status nor opsassist's workflow
# (which sets resolved_at when a ticket is resolved there, and clears it on reopening) says so.
_BREACHED = "sla_due_at < {} AND resolved_at IS NULL AND " + UNRESOLVED


@dataclass(frozen=True, slots=True)
class TicketFilter:
    statuses: list[str] | None = None
    categories: list[str] | None = None
    priorities: list[str] | None = None
    teams: list[str] | None = None
    source_systems: list[str] | None = None
    needs_triage: bool | None = None
    since: datetime | None = None  # created_at, inclusive
    until: datetime | None = None  # created_at, exclusive
    text: str | None = None  # in title or body
    sla_breached_at: datetime | None = None  # only tickets past their SLA at this time
    # The reader may not read HR tickets' text: a text search must not find them by it.
    text_skips_hr: bool = False

    def where(self) -> Where:
        where = Where()
        where.add_any(self.statuses, "status")
        where.add_any(self.categories, "category")
        where.add_any(self.priorities, "priority")
        where.add_any(self.teams, "team")
        where.add_any(self.source_systems, "source_system")
        if self.needs_triage is not None:
            where.add("needs_triage = {}", self.needs_triage)
        where.add_if(self.since, "created_at >= {}")
        where.add_if(self.until, "created_at < {}")
        if self.text:
            where.add("(title ILIKE {0} OR body ILIKE {0})", like_pattern(self.text))
            if self.text_skips_hr:
                where.add(
                    "category IS DISTINCT FROM {0} AND suggested_category IS DISTINCT FROM {0}",
                    HR_CATEGORY,
                )
        if self.sla_breached_at is not None:
            where.add(_BREACHED, self.sla_breached_at)
        return where


async def tickets_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: TicketFilter,
    *,
    sort: str,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await Listing(SELECT, SORTS[sort]).page(conn, filter_, descending, request, default_size)


async def tickets_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]
) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"{SELECT} WHERE id = ANY($1::bigint[])", ids))
