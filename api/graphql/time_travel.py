"""``asOf``: tickets, incidents, log templates, changelog releases and users as they were at a
time, one or a page of them, read from their history (``opsassist.store.history``, which keeps
the full state of every version; docs/history.md).

A stored state is the row as PostgreSQL's ``to_jsonb`` rendered it when the version was written:
timestamps are text, and columns added by later migrations are absent from older states. This
module turns a state back into the row each type reads, so every type's ``from_row`` (or
``from_stored``) serves the present and the past alike, and so do its masking rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from opsassist.api.graphql.history import camel
from opsassist.api.graphql.masking import graphql_error
from opsassist.store.history import EntityState, as_of, list_as_of
from opsassist.store.paging import Cursor, InvalidCursor, Page, PageRequest, Sort

#: The timestamp columns of each entity's rows (a state holds them as ISO 8601 text).
_TIMES: dict[str, tuple[str, ...]] = {
    "tickets": ("created_at", "updated_at", "sla_due_at", "resolved_at", "row_updated_at"),
    "incidents": (
        "opened_at",
        "last_spike_end",
        "resolved_at",
        "acknowledged_at",
        "row_updated_at",
    ),
    "log_templates": ("first_seen", "last_seen", "row_updated_at"),
    "changelog_releases": ("released_at", "row_updated_at"),
    "users": ("created_at", "disabled_at", "row_updated_at"),
}
# Columns a ticket state written before their migration lacks, with the value they had then.
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


def past_row(entity: str, past: EntityState) -> dict[str, Any]:
    """A stored state of ``entity`` as a row of the shape its current rows have: times parsed,
    and the id, version and actor of the version that was current."""
    row = dict(past.state)
    for column in _TIMES[entity]:
        if isinstance(row.get(column), str):
            row[column] = datetime.fromisoformat(row[column])
    row["id"] = past.id
    row["version"] = past.version
    row["changed_by"] = past.changed_by
    return row


def state_row(entity: EntityState) -> dict[str, Any]:
    """A ticket's stored state as a row of ``opsassist.store.tickets.SELECT``'s shape."""
    row = {**_ADDED_LATER, **past_row("tickets", entity)}
    if "reporter_id" not in row:  # states written before migration 0010 renamed the column
        row["reporter_id"] = row.get("reporter")
    row["labels"] = row.get("labels") or []
    return row


def _zoned(at: datetime) -> datetime:
    """``at``, refused as the caller's mistake when it has no time zone: the instant it names
    would depend on the server's zone (history refuses it too, but as a server error)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise graphql_error(
            f"asOf {at.isoformat()} has no time zone: add Z or an offset such as +02:00",
            "BAD_USER_INPUT",
        )
    return at


async def row_as_of(
    pool: asyncpg.Pool,
    entity: str,
    entity_id: int,
    at: datetime,
    to_row: Callable[[EntityState], dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """``entity`` row ``entity_id`` as it was at ``at`` (``to_row`` shapes it; by default
    :func:`past_row`); None if it did not exist yet, had been deleted, or never existed."""
    async with pool.acquire() as conn:
        past = await as_of(conn, entity, entity_id, _zoned(at))
    if past is None:
        return None
    return to_row(past) if to_row is not None else past_row(entity, past)


T = TypeVar("T")


async def one_as_of(
    pool: asyncpg.Pool,
    entity: str,
    key: int | None,
    at: datetime | None,
    *,
    by_ids: Callable[[asyncpg.Pool, list[int]], Awaitable[Sequence[Mapping[str, Any]]]],
    build: Callable[[Mapping[str, Any]], T],
) -> T | None:
    """One entity by id: as it is now (``by_ids``), or as it was at ``at`` (its history); None
    for an id that cannot exist, or that did not exist then."""
    if key is None:
        return None
    if at is not None:
        past = await row_as_of(pool, entity, key, at)
        return build(past) if past is not None else None
    rows = await by_ids(pool, [key])
    return build(rows[0]) if rows else None


async def ticket_as_of(pool: asyncpg.Pool, ticket_id: int, at: datetime) -> dict[str, Any] | None:
    return await row_as_of(pool, "tickets", ticket_id, at, state_row)


def equality_filter(
    given: Mapping[str, Any],
    one_of: Mapping[str, str],
    flags: Collection[str] = (),
    *,
    what: str,
) -> dict[str, Any]:
    """A list filter's conditions as history's equality filter on past states: each list of
    ``one_of`` (argument -> column) with one value, each of ``flags`` as it is; the conditions
    it cannot apply to a past state are refused with a message naming them."""
    where: dict[str, Any] = {}
    unsupported = []
    for name, value in given.items():
        if value is None:
            continue
        if name in one_of and isinstance(value, list) and len(value) == 1:
            where[one_of[name]] = value[0]
        elif name in flags:
            where[name] = value
        else:
            unsupported.append(name)
    if unsupported:
        lists = ", ".join(camel(name) for name in one_of)
        also = "".join(f", and on {camel(name)}" for name in flags)
        raise InvalidCursor(
            f"with asOf, {what} list filters on one value each of {lists}{also}; "
            f"not on {', '.join(unsupported)}"
        )
    return where


def state_filter(given: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket filter's conditions as history's equality filter; the ones it cannot apply to
    a past state are refused with a message naming them."""
    return equality_filter(given, _FILTERABLE, ("needs_triage",), what="a ticket")


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    after = Cursor.decode(cursor, _BY_ID).values[0]
    if not isinstance(after, int):
        raise InvalidCursor("malformed cursor")
    return after


async def rows_as_of_page(
    pool: asyncpg.Pool,
    entity: str,
    at: datetime,
    request: PageRequest,
    default_size: int,
    *,
    where: Mapping[str, Any] | None = None,
    to_row: Callable[[EntityState], dict[str, Any]] | None = None,
) -> Page[dict[str, Any]]:
    """A page of the ``entity`` rows that existed at ``at``, as they were then, in id order
    (forwards only), whose state then holds ``where``; ``to_row`` as for :func:`row_as_of`."""
    if request.backwards:
        raise InvalidCursor("with asOf, a list pages forwards only (first/after)")
    after = _after(request.after)
    async with pool.acquire() as conn:
        page = await list_as_of(
            conn, entity, _zoned(at), where=where, after=after, limit=request.first or default_size
        )
    rows = [to_row(item) if to_row is not None else past_row(entity, item) for item in page.items]
    return Page(
        rows=rows,
        cursors=[Cursor.of(row, _BY_ID).encode() for row in rows],
        has_next_page=page.next_after is not None,
        has_previous_page=after > 0,
    )


async def tickets_as_of_page(
    pool: asyncpg.Pool,
    at: datetime,
    where: Mapping[str, Any],
    request: PageRequest,
    default_size: int,
) -> Page[dict[str, Any]]:
    """A page of the tickets that existed at ``at``, as they were then, in id order."""
    return await rows_as_of_page(
        pool, "tickets", at, request, default_size, where=where, to_row=state_row
    )
