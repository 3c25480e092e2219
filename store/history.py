"""The versioned history of every mutable entity, read back, and the actor of the changes a
transaction makes.

The history is written by the database itself (the triggers of migrations 0001 and 0009): every
insert, update and delete of a tracked table adds a row to its ``*_changes`` table in the same
transaction, with the delta and the full state after the change. Nothing here writes history, so
nothing here can skip it. What this module offers, generic over the tracked tables
(``history_entities``: ``tickets``, ``changelog_releases``, and any table a migration adds with
``history_track``):

- :func:`set_actor`: who or what makes the transaction's changes (user, agent, model, prompt);
- :func:`as_of`: one entity as it was at a time, or None if it did not exist then;
  :func:`as_of_many` the same for many ids in one query (a GraphQL data loader's batch);
- :func:`versions`: its versions, oldest first, each with who changed it and the field diffs;
- :func:`list_as_of`: a page of the entities that existed at a time, filtered on their state then.
- :func:`changes_of`: every change of many entities at once, from the ``*_changes`` tables the
  API lists versions from.

"As of t" means: the last version whose ``changed_at`` is at or before ``t``, where
``changed_at`` is the time of the transaction that wrote it (docs/history.md). States are the
rows as PostgreSQL's ``to_jsonb`` renders them: timestamps are ISO 8601 strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

#: Columns every tracked table has for the history's own sake; not part of any diff.
BOOKKEEPING = frozenset({"version", "row_updated_at", "changed_by", "last_event_id"})

_ACTOR = re.compile(r"^[a-z][a-z0-9_-]*:\S.*$")
_SET_ACTOR = """
SELECT set_config('opsassist.actor', $1, true), set_config('opsassist.model', $2, true),
       set_config('opsassist.prompt_version', $3, true)
"""
# Schema-qualified, so that a temporary table of the same name cannot stand in for the history.
_TRACKED = """
SELECT format('%I.%I', n.nspname, c.relname) AS changes, quote_ident(h.fk) AS fk
FROM history_entities h
JOIN pg_class c ON c.oid = h.changes JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE h.entity::text = $1
"""
_ENTITIES = "SELECT entity::text AS entity FROM history_entities ORDER BY 1"

# {changes} and {fk} are identifiers from history_entities (the catalog), never user input.
_AS_OF = """
SELECT version, changed_at, changed_by, state::text AS state FROM {changes}
WHERE {fk} = $1 AND changed_at <= $2
ORDER BY changed_at DESC, version DESC LIMIT 1
"""
_AS_OF_MANY = """
SELECT i.id, v.version, v.changed_at, v.changed_by, v.state::text AS state
FROM unnest($1::bigint[]) AS i(id)
CROSS JOIN LATERAL (
    SELECT c.version, c.changed_at, c.changed_by, c.state FROM {changes} c
    WHERE c.{fk} = i.id AND c.changed_at <= $2
    ORDER BY c.changed_at DESC, c.version DESC LIMIT 1
) v
WHERE v.state IS NOT NULL
"""
_VERSIONS = """
SELECT version, changed_at, change_kind, changed_by, model, prompt_version, db_user,
       application_name, transaction_id, event_id, delta::text AS delta, state::text AS state
FROM {changes} WHERE {fk} = $1 AND version >= $2 ORDER BY version LIMIT $3
"""
# The entities born by t (their first version, by a partial index), in id order, each joined to
# its newest version at or before t (one descent of the (fk, changed_at) index); deleted ones
# and those whose state then does not contain the filter are passed over.
_LIST_AS_OF = """
SELECT born.{fk} AS id, v.version, v.changed_at, v.changed_by, v.state::text AS state
FROM {changes} born
CROSS JOIN LATERAL (
    SELECT c.version, c.changed_at, c.changed_by, c.state FROM {changes} c
    WHERE c.{fk} = born.{fk} AND c.changed_at <= $1
    ORDER BY c.changed_at DESC, c.version DESC LIMIT 1
) v
WHERE born.version = 1 AND born.changed_at <= $1 AND born.{fk} > $2
  AND v.state IS NOT NULL AND v.state @> $3::jsonb
ORDER BY born.{fk}
LIMIT $4
"""


class UnknownEntity(LookupError):
    """The name is not a table whose history is kept; the message lists those that are."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who or what makes a transaction's changes.

    ``who`` is ``<kind>:<name>``, as in the ``changed_by`` columns: ``user:alice``,
    ``agent:triage``, ``replay:2026-11-26``. ``model`` and ``prompt_version`` name the model and
    prompt when an LLM or a trained model made the change.
    """

    who: str
    model: str | None = None
    prompt_version: str | None = None

    def __post_init__(self) -> None:
        if not _ACTOR.match(self.who):
            raise ValueError(
                f"actor {self.who!r} is not '<kind>:<name>' (for example 'user:alice')"
            )


@dataclass(frozen=True, slots=True)
class EntityState:
    """An entity as it was: its id, the version then current, and that version's state."""

    id: int
    version: int
    changed_at: datetime
    changed_by: str
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's value before and after a change (None where it did not exist)."""

    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Version:
    """One version of an entity: when, who (actor, model, prompt, database role, client, the
    transaction), the kind of change (insert, update, delete), the delta as recorded (the
    fields that changed, with their new values), the diff (old and new value of each of those
    fields; every field for an insert or a delete) and the full state after it (None after a
    delete)."""

    version: int
    changed_at: datetime
    change_kind: str
    changed_by: str
    model: str | None
    prompt_version: str | None
    db_user: str | None
    application_name: str | None
    transaction_id: int | None
    event_id: str | None
    delta: dict[str, Any]
    diff: dict[str, FieldChange]
    state: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StatesPage:
    """A page of entities as of a time, in id order; ``next_after`` continues it (None at the
    end)."""

    items: list[EntityState]
    next_after: int | None


@dataclass(frozen=True, slots=True)
class _Tracked:
    changes: str
    fk: str


async def set_actor(conn: asyncpg.Connection, actor: Actor) -> None:
    """Name the actor of every change this transaction makes from now on (``SET LOCAL``).

    The history records it (and writes ``actor.who`` into the rows' ``changed_by``); without
    it, the ``changed_by`` the writer put in the row is recorded. It ends with the transaction,
    so it cannot leak to the next user of a pooled connection.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("set_actor needs a transaction: it lasts until the transaction ends")
    await conn.execute(_SET_ACTOR, actor.who, actor.model or "", actor.prompt_version or "")


async def tracked_entities(conn: asyncpg.Connection) -> list[str]:
    """The names of the tables whose history is kept."""
    return [row["entity"] for row in await conn.fetch(_ENTITIES)]


async def _tracked(conn: asyncpg.Connection, entity: str) -> _Tracked:
    row = await conn.fetchrow(_TRACKED, entity)
    if row is None:
        known = ", ".join(await tracked_entities(conn))
        raise UnknownEntity(f"no history is kept for {entity!r}; it is kept for: {known}")
    return _Tracked(changes=row["changes"], fk=row["fk"])


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; as-of times must be timezone-aware")
    return at


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


async def as_of(
    conn: asyncpg.Connection, entity: str, entity_id: int, at: datetime
) -> EntityState | None:
    """``entity`` row ``entity_id`` as it was at ``at``; None if it did not exist yet, had been
    deleted, or never existed."""
    tracked = await _tracked(conn, entity)
    row = await conn.fetchrow(
        _AS_OF.format(changes=tracked.changes, fk=tracked.fk), entity_id, _aware(at)
    )
    if row is None or row["state"] is None:
        return None
    return EntityState(
        id=entity_id,
        version=row["version"],
        changed_at=row["changed_at"],
        changed_by=row["changed_by"],
        state=_json(row["state"]),
    )


async def as_of_many(
    conn: asyncpg.Connection, entity: str, entity_ids: Sequence[int], at: datetime
) -> dict[int, EntityState]:
    """:func:`as_of` for many ids in one query: id -> state at ``at``, for the ids that existed
    then (the others are absent)."""
    tracked = await _tracked(conn, entity)
    rows = await conn.fetch(
        _AS_OF_MANY.format(changes=tracked.changes, fk=tracked.fk),
        sorted(set(entity_ids)),
        _aware(at),
    )
    return {
        row["id"]: EntityState(
            id=row["id"],
            version=row["version"],
            changed_at=row["changed_at"],
            changed_by=row["changed_by"],
            state=_json(row["state"]),
        )
        for row in rows
    }


def _diff(
    kind: str, delta: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, FieldChange]:
    previous = before or {}
    if kind == "delete":
        return {k: FieldChange(v, None) for k, v in previous.items() if k not in BOOKKEEPING}
    return {k: FieldChange(previous.get(k), v) for k, v in delta.items() if k not in BOOKKEEPING}


async def versions(
    conn: asyncpg.Connection,
    entity: str,
    entity_id: int,
    *,
    after_version: int = 0,
    limit: int | None = None,
) -> list[Version]:
    """The versions of ``entity`` row ``entity_id`` after ``after_version``, oldest first, at
    most ``limit`` (all when None); empty if it never existed."""
    if after_version < 0 or (limit is not None and limit < 1):
        raise ValueError("after_version must be >= 0 and limit >= 1")
    tracked = await _tracked(conn, entity)
    # The version before the page comes along, for the diff of the page's first one.
    fetch = None if limit is None else limit + (1 if after_version else 0)
    rows = await conn.fetch(
        _VERSIONS.format(changes=tracked.changes, fk=tracked.fk), entity_id, after_version, fetch
    )
    out: list[Version] = []
    before: dict[str, Any] | None = None
    for row in rows:
        state = _json(row["state"])
        if row["version"] > after_version:
            delta = _json(row["delta"])
            out.append(
                Version(
                    version=row["version"],
                    changed_at=row["changed_at"],
                    change_kind=row["change_kind"],
                    changed_by=row["changed_by"],
                    model=row["model"],
                    prompt_version=row["prompt_version"],
                    db_user=row["db_user"],
                    application_name=row["application_name"],
                    transaction_id=row["transaction_id"],
                    event_id=row["event_id"],
                    delta=delta,
                    diff=_diff(row["change_kind"], delta, before),
                    state=state,
                )
            )
        before = state
    return out


async def list_as_of(
    conn: asyncpg.Connection,
    entity: str,
    at: datetime,
    *,
    where: Mapping[str, Any] | None = None,
    after: int = 0,
    limit: int = 50,
) -> StatesPage:
    """The ``entity`` rows that existed at ``at``, as they were then, in id order: at most
    ``limit`` with an id above ``after``.

    ``where`` filters on the state then: each field must equal its value, in JSON terms (JSON
    containment: a list field matches when it contains the listed elements), for example
    ``{"status": "open", "team": "payments"}``.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    tracked = await _tracked(conn, entity)
    rows = await conn.fetch(
        _LIST_AS_OF.format(changes=tracked.changes, fk=tracked.fk),
        _aware(at),
        after,
        orjson.dumps(dict(where or {})).decode(),
        limit + 1,  # one more, to know whether a next page exists
    )
    items = [
        EntityState(
            id=row["id"],
            version=row["version"],
            changed_at=row["changed_at"],
            changed_by=row["changed_by"],
            state=_json(row["state"]),
        )
        for row in rows[:limit]
    ]
    return StatesPage(items=items, next_after=items[-1].id if len(rows) > limit else None)


# changes table -> the column that references the entity; names we own, never user input
_CHANGES_OF = {
    "ticket_changes": "ticket_id",
    "changelog_release_changes": "release_id",
    "user_changes": "user_id",
    "incident_changes": "incident_id",
    "log_template_changes": "template_row_id",
}


async def changes_of(
    conn: asyncpg.Pool | asyncpg.Connection, table: str, ids: list[int]
) -> list[asyncpg.Record]:
    """Every change of the entities ``ids`` in the ``*_changes`` table ``table``, oldest first
    per entity (column ``entity_id``), for many entities at once (the API's version lists)."""
    fk = _CHANGES_OF[table]
    return list(
        await conn.fetch(
            f"SELECT {fk} AS entity_id, version, changed_at, changed_by, change_kind, delta, "
            f"event_id FROM {table} WHERE {fk} = ANY($1::bigint[]) ORDER BY {fk}, version",
            ids,
        )
    )
