"""``asOf``: tickets as they were at a time, one or a page of them, read from their history
(``opsassist.store.history``, which keeps the full state of every version; docs/history.md).

A stored state is the row as PostgreSQL's ``to_jsonb`` rendered it when the version was written:
timestamps are text, and columns added by later migrations are absent from older states. This
module turns a state back into what the ticket type reads, so ``Ticket.from_row`` serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from opsassist.store.history import EntityState, as_of, list_as_of
from opsassist.store.paging import Cursor, InvalidCursor, Page, PageRequest, Sort

_TIMES = ("created_at", "updated_at", "sla_due_at", "resolved_at", "row_updated_at")
# Columns a state written before their migration lacks, with the value they had then.
_ADDED_LATER: dict[str, Any] = {
    "workflow_status": "open",
    "resolved_at": None,
    "reopened_count": 0,
    "human_fields": [],
    "correction": None,
    "category": None,
    "suggested_category": None,
    "priority": None,
    "team": None,
    "triage_confidence": None,
    "needs_triage": False,
    "triage_layer": None,
    "triage": None,
    "sla_due_at": None,
    "trace_id": None,
}
# As-of lists go by id (history's own order); the sort's name keeps other lists' cursors out.
_BY_ID = Sort("asOf", "id", "id", (), descending=False, key_is_time=False)
_FILTERABLE = {
    "statuses": "status",
    "categories": "category",
    "priorities": "priority",
    "teams": "team",
    "source_systems": "source_system",
}


def state_row(entity: EntityState) -> dict[str, Any]:
    """A ticket's stored state as a row of ``opsassist.store.tickets.SELECT``'s shape."""
    row = {**_ADDED_LATER, **entity.state}
    if "reporter_id" not in row:  # states written before migration 0010 renamed the column
        row["reporter_id"] = row.get("reporter")
    for column in _TIMES:
        if isinstance(row.get(column), str):
            row[column] = datetime.fromisoformat(row[column])
    row["id"] = entity.id
    row["version"] = entity.version
    row["changed_by"] = entity.changed_by
    row["labels"] = row.get("labels") or []
    return row


async def ticket_as_of(pool: asyncpg.Pool, ticket_id: int, at: datetime) -> dict[str, Any] | None:
    async with pool.acquire() as conn:
        entity = await as_of(conn, "tickets", ticket_id, at)
    return state_row(entity) if entity is not None else None


def state_filter(given: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket filter's conditions as history's equality filter; the ones it cannot apply to
    a past state are refused with a message naming them."""
    where: dict[str, Any] = {}
    unsupported = []
    for name, value in given.items():
        if value is None:
            continue
        if name in _FILTERABLE and isinstance(value, list) and len(value) == 1:
            where[_FILTERABLE[name]] = value[0]
        elif name == "needs_triage":
            where["needs_triage"] = value
        else:
            unsupported.append(name)
    if unsupported:
        raise InvalidCursor(
            "with asOf, a ticket list filters on one value each of statuses, categories, "
            f"priorities, teams, sourceSystems, and on needsTriage; not on {', '.join(unsupported)}"
        )
    return where


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    after = Cursor.decode(cursor, _BY_ID).values[0]
    if not isinstance(after, int):
        raise InvalidCursor("malformed cursor")
    return after


async def tickets_as_of_page(
    pool: asyncpg.Pool,
    at: datetime,
    where: Mapping[str, Any],
    request: PageRequest,
    default_size: int,
) -> Page[dict[str, Any]]:
    """A page of the tickets that existed at ``at``, as they were then, in id order."""
    if request.backwards:
        raise InvalidCursor("with asOf, a list pages forwards only (first/after)")
    after = _after(request.after)
    async with pool.acquire() as conn:
        page = await list_as_of(
            conn, "tickets", at, where=where, after=after, limit=request.first or default_size
        )
    rows = [state_row(item) for item in page.items]
    return Page(
        rows=rows,
        cursors=[Cursor.of(row, _BY_ID).encode() for row in rows],
        has_next_page=page.next_after is not None,
        has_previous_page=after > 0,
    )
