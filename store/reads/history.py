"""The versions of mutable entities, from their ``*_changes`` tables, for many entities at once."""

from __future__ import annotations

import asyncpg

# table -> the column that references the entity; names we own, never user input
_TABLES = {
    "ticket_changes": "ticket_id",
    "changelog_release_changes": "release_id",
    "user_changes": "user_id",
    "incident_changes": "incident_id",
    "log_template_changes": "template_row_id",
}


async def changes_of(
    conn: asyncpg.Pool | asyncpg.Connection, table: str, ids: list[int]
) -> list[asyncpg.Record]:
    """Every change of the entities ``ids``, oldest first per entity (column ``entity_id``)."""
    fk = _TABLES[table]
    return list(
        await conn.fetch(
            f"SELECT {fk} AS entity_id, version, changed_at, changed_by, change_kind, delta, "
            f"event_id FROM {table} WHERE {fk} = ANY($1::bigint[]) ORDER BY {fk}, version",
            ids,
        )
    )
