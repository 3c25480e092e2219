"""Dead letters in PostgreSQL: the worker records each one it sends to the dead-letter topic (the
coordinates of the original there and in its source topic, the reason code and the redacted
reason); the API lists them and marks the ones it replayed. The original bytes are never stored
here: a replay reads them back from the dead-letter topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from opsassist.bus.deadletter import DeadLetter
from opsassist.store.paging import Listing, Page, PageRequest, Sort, Where


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    source_topic: str
    source_partition: int
    source_offset: int
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    code: str
    reason: str
    failed_at: datetime


_UPSERT = """
INSERT INTO dead_letters (source_topic, source_partition, source_offset, dlq_topic,
                          dlq_partition, dlq_offset, code, reason, failed_at)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::int[], $6::bigint[],
                     $7::text[], $8::text[], $9::timestamptz[])
ON CONFLICT (source_topic, source_partition, source_offset) DO UPDATE SET
    dlq_topic = excluded.dlq_topic, dlq_partition = excluded.dlq_partition,
    dlq_offset = excluded.dlq_offset, code = excluded.code, reason = excluded.reason,
    failed_at = excluded.failed_at, replayed_at = NULL, replayed_by = NULL
"""


async def record_dead_letters(
    conn: asyncpg.Pool | asyncpg.Connection, records: Sequence[DeadLetterRecord]
) -> None:
    """Record dead letters; a source record dead-lettered again (a batch read twice, or a replay
    that failed again) points at its newest copy."""
    if not records:
        return
    columns = list(zip(*((r.source_topic, r.source_partition, r.source_offset, r.dlq_topic,
                          r.dlq_partition, r.dlq_offset, r.code, r.reason, r.failed_at)
                         for r in records), strict=True))  # fmt: skip
    await conn.execute(_UPSERT, *[list(c) for c in columns])


DEAD_LETTERS = Listing(
    """
SELECT id, source_topic, source_partition, source_offset, dlq_topic, dlq_partition, dlq_offset,
       code, reason, failed_at, replayed_at, replayed_by
FROM dead_letters
""",
    Sort("failed_at", "failed_at", "failed_at", (("id", "id"),)),
)


def dead_letter_record(
    letter: DeadLetter, dlq_topic: str, dlq_partition: int, dlq_offset: int
) -> DeadLetterRecord:
    """What PostgreSQL keeps of a dead letter placed at ``dlq_partition``/``dlq_offset``: where
    it came from and why, never its bytes."""
    return DeadLetterRecord(
        source_topic=letter.source_topic,
        source_partition=letter.source_partition,
        source_offset=letter.source_offset,
        dlq_topic=dlq_topic,
        dlq_partition=dlq_partition,
        dlq_offset=dlq_offset,
        code=letter.code,
        reason=letter.reason,
        failed_at=letter.failed_at,
    )


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    codes: list[str] | None = None
    topics: list[str] | None = None
    replayed: bool | None = None

    def where(self) -> Where:
        where = Where()
        where.add_if(self.codes, "code = ANY({}::text[])")
        where.add_if(self.topics, "source_topic = ANY({}::text[])")
        if self.replayed is not None:
            where.add("replayed_at IS NOT NULL" if self.replayed else "replayed_at IS NULL")
        return where


async def dead_letters_page(
    conn: asyncpg.Pool | asyncpg.Connection,
    filter_: DeadLetterFilter,
    descending: bool,
    request: PageRequest,
    default_size: int,
) -> Page[asyncpg.Record]:
    return await DEAD_LETTERS.page(conn, filter_, descending, request, default_size)


async def dead_letters_by_ids(
    conn: asyncpg.Pool | asyncpg.Connection, ids: list[int]
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(f"{DEAD_LETTERS.select} WHERE id = ANY($1::bigint[]) ORDER BY id", ids)
    )


async def mark_replayed(conn: asyncpg.Pool | asyncpg.Connection, ids: list[int], by: str) -> None:
    await conn.execute(
        "UPDATE dead_letters SET replayed_at = now(), replayed_by = $2 "
        "WHERE id = ANY($1::bigint[])",
        ids,
        by,
    )
