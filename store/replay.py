"""What a replay reads and writes: the stored raw events of a range (when the topic no longer
holds them), the tickets whose current state an event is, and the one statement that applies a
new triage to them, only where it differs, so that a replay run twice changes nothing twice.

A range is a time range (the event's time: a ticket event's ``occurred_at``, a commit's
``committed_at``), an offset range per partition of the raw topic, or both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson


@dataclass(frozen=True, slots=True)
class OffsetRange:
    """Offsets ``start`` (inclusive) to ``end`` (exclusive) of one partition."""

    partition: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ReplayRange:
    since: datetime | None = None
    until: datetime | None = None
    offsets: tuple[OffsetRange, ...] = ()

    def __post_init__(self) -> None:
        if self.since is None and self.until is None and not self.offsets:
            raise ValueError("a replay range needs a time range (since/until) or offset ranges")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("the time range is empty: since must be before until")
        for r in self.offsets:
            if r.start < 0 or r.end <= r.start:
                raise ValueError(
                    f"offset range {r.start}-{r.end} of partition {r.partition} is empty"
                )

    def in_time(self, at: datetime) -> bool:
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    def in_offsets(self, partition: int, offset: int) -> bool:
        return not self.offsets or any(
            r.partition == partition and r.start <= offset < r.end for r in self.offsets
        )

    def _params(self, topic: str) -> tuple[Any, ...]:
        return (
            self.since,
            self.until,
            topic,
            [r.partition for r in self.offsets] or None,
            [r.start for r in self.offsets],
            [r.end for r in self.offsets],
        )


# $1/$2 the time range, $3 the topic, $4-$6 the offset ranges (partition, start, end) or NULL.
_IN_OFFSETS = """
($4::integer[] IS NULL OR (kafka_topic = $3 AND EXISTS (
    SELECT 1 FROM unnest($4::integer[], $5::bigint[], $6::bigint[]) AS r(p, lo, hi)
    WHERE kafka_partition = r.p AND kafka_offset >= r.lo AND kafka_offset < r.hi)))
"""
_TICKET_EVENTS = f"""
SELECT event_id, schema_version, payload, source, trace_id, occurred_at, received_at,
       kafka_topic, kafka_partition, kafka_offset
FROM ticket_events
WHERE ($1::timestamptz IS NULL OR occurred_at >= $1)
  AND ($2::timestamptz IS NULL OR occurred_at < $2)
  AND {_IN_OFFSETS}
ORDER BY occurred_at, event_id
"""
_COMMIT_REPOS = f"""
SELECT repo, count(*) AS commits FROM commits
WHERE ($1::timestamptz IS NULL OR committed_at >= $1)
  AND ($2::timestamptz IS NULL OR committed_at < $2)
  AND {_IN_OFFSETS}
GROUP BY repo
"""


_STORED_OFFSETS = {
    table: f"""
SELECT kafka_partition AS p, min(kafka_offset) AS lo, max(kafka_offset) AS hi FROM {table}
WHERE ($1::timestamptz IS NULL OR {time} >= $1) AND ($2::timestamptz IS NULL OR {time} < $2)
  AND kafka_topic = $3 AND kafka_offset IS NOT NULL AND {_IN_OFFSETS}
GROUP BY kafka_partition
"""
    for table, time in (("ticket_events", "occurred_at"), ("commits", "committed_at"))
}


async def stored_offsets(
    conn: asyncpg.Connection, table: str, replay_range: ReplayRange, topic: str
) -> dict[int, tuple[int, int]]:
    """Partition -> lowest and highest offset of the stored events of the range (``table``:
    ``ticket_events`` or ``commits``), to tell whether the topic still holds them."""
    rows = await conn.fetch(_STORED_OFFSETS[table], *replay_range._params(topic))
    return {r["p"]: (r["lo"], r["hi"]) for r in rows}


async def stored_ticket_events(
    conn: asyncpg.Connection, replay_range: ReplayRange, topic: str
) -> list[asyncpg.Record]:
    """The ticket events of the range as ``ticket_events`` keeps them (payload at its stored
    ``schema_version``)."""
    return list(await conn.fetch(_TICKET_EVENTS, *replay_range._params(topic)))


async def stored_commit_repositories(
    conn: asyncpg.Connection, replay_range: ReplayRange, topic: str
) -> dict[str, int]:
    """Repository -> how many of its stored commits are in the range."""
    rows = await conn.fetch(_COMMIT_REPOS, *replay_range._params(topic))
    return {r["repo"]: r["commits"] for r in rows}


async def stored_ticket_event_ids(conn: asyncpg.Connection, ids: Sequence[str]) -> set[str]:
    """Which of these ticket event ids are stored."""
    sql = "SELECT event_id FROM ticket_events WHERE event_id = ANY($1::text[])"
    return {r["event_id"] for r in await conn.fetch(sql, list(ids))}


async def stored_commit_keys(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (repo, sha) are stored."""
    sql = """
    SELECT c.repo, c.sha FROM commits c
    JOIN unnest($1::text[], $2::text[]) AS k(repo, sha) ON c.repo = k.repo AND c.sha = k.sha
    """
    rows = await conn.fetch(sql, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["repo"], r["sha"]) for r in rows}


_CURRENT_TICKETS = """
SELECT id, version, last_event_id FROM tickets WHERE last_event_id = ANY($1::text[])
"""

TRIAGE_FIELDS = (
    "category",
    "suggested_category",
    "priority",
    "team",
    "triage_confidence",
    "needs_triage",
    "triage_layer",
    "triage",
    "sla_due_at",
)
_OLD = ", ".join(f"o.{f} AS old_{f}" for f in TRIAGE_FIELDS)
_NEW = ", ".join(f"t.{f}" for f in TRIAGE_FIELDS)
# Only tickets whose triage differs get a new version (history by trigger); a ticket the worker
# changed since it was read (another version) is left alone.
_APPLY_TRIAGE = f"""
WITH n AS (
    SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::double precision[], $8::boolean[], $9::text[],
                         $10::text[], $11::timestamptz[])
        AS n(id, version, category, suggested_category, priority, team, triage_confidence,
             needs_triage, triage_layer, triage, sla_due_at)
), o AS (
    SELECT t.* FROM tickets t JOIN n USING (id)
)
UPDATE tickets t SET
    category = n.category, suggested_category = n.suggested_category, priority = n.priority,
    team = n.team, triage_confidence = n.triage_confidence, needs_triage = n.needs_triage,
    triage_layer = n.triage_layer, triage = n.triage::jsonb, sla_due_at = n.sla_due_at,
    changed_by = $12
FROM n, o
WHERE t.id = n.id AND o.id = n.id AND t.version = n.version
  AND (t.category, t.suggested_category, t.priority, t.team, t.triage_confidence,
       t.needs_triage, t.triage_layer, t.triage, t.sla_due_at)
      IS DISTINCT FROM
      (n.category, n.suggested_category, n.priority, n.team, n.triage_confidence,
       n.needs_triage, n.triage_layer, n.triage::jsonb, n.sla_due_at)
RETURNING t.id, t.source_system, t.external_id, t.version, {_NEW}, {_OLD}
"""


@dataclass(frozen=True, slots=True)
class CurrentTicket:
    id: int
    version: int
    event_id: str


async def tickets_at_events(
    conn: asyncpg.Connection, event_ids: Sequence[str]
) -> list[CurrentTicket]:
    """The tickets whose current state is one of these events (the others were superseded)."""
    rows = await conn.fetch(_CURRENT_TICKETS, list(event_ids))
    return [CurrentTicket(r["id"], r["version"], r["last_event_id"]) for r in rows]


@dataclass(frozen=True, slots=True)
class TriageUpdate:
    ticket: CurrentTicket
    #: The TRIAGE_FIELDS values, in order (``triage`` as a dict).
    values: tuple[Any, ...]


def _decoded(field: str, value: Any) -> Any:
    return orjson.loads(value) if field == "triage" and value is not None else value


async def apply_triage(
    conn: asyncpg.Connection, updates: Sequence[TriageUpdate], changed_by: str
) -> list[dict[str, Any]]:
    """Write the triage of each ticket where it differs; return, per changed ticket, its key,
    new version and ``{field: (before, after)}`` of the fields that changed."""
    if not updates:
        return []
    columns: list[list[Any]] = [[u.ticket.id for u in updates], [u.ticket.version for u in updates]]
    for i, field in enumerate(TRIAGE_FIELDS):
        values = [u.values[i] for u in updates]
        if field == "triage":
            values = [None if v is None else orjson.dumps(v).decode() for v in values]
        columns.append(values)
    rows = await conn.fetch(_APPLY_TRIAGE, *columns, changed_by)
    changed = []
    for row in rows:
        fields = {}
        for field in TRIAGE_FIELDS:
            before, after = _decoded(field, row[f"old_{field}"]), _decoded(field, row[field])
            if before != after:
                fields[field] = (before, after)
        changed.append(
            {
                "entity": f"ticket {row['source_system']}:{row['external_id']}",
                "version": row["version"],
                "changes": fields,
            }
        )
    return changed


_RELEASES = """
SELECT tag, version, present, content, markdown FROM changelog_releases WHERE repo = $1
"""


async def release_states(conn: asyncpg.Connection, repo: str) -> dict[str, dict[str, Any]]:
    """Tag -> the stored release (version, present, content, markdown) of ``repo``."""
    return {
        r["tag"]: {
            "version": r["version"],
            "present": r["present"],
            "content": orjson.loads(r["content"]),
            "markdown": r["markdown"],
        }
        for r in await conn.fetch(_RELEASES, repo)
    }
