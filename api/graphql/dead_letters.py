"""Dead letters (admin): what failed, where and why, and a replay that sends the originals back
to the topics they came from (api/dead_letter_replay.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import asyncpg
import strawberry
from strawberry.types import Info

from opsassist.api.dead_letter_replay import Placed, replay_dead_letters
from opsassist.api.graphql.context import Context
from opsassist.api.graphql.errors import ValidationFailed
from opsassist.api.graphql.inputs import int_id
from opsassist.api.graphql.pagination import Connection, Order, connection, page_request
from opsassist.store.dead_letters import (
    DeadLetterFilter,
    dead_letters_by_ids,
    dead_letters_page,
    mark_replayed,
)

MAX_REPLAY = 100


@strawberry.type(
    description="An event the worker could not process. Its original bytes wait on the "
    "dead-letter topic (for that topic's retention); the reason is redacted."
)
class DeadLetter:
    id: strawberry.ID
    source_topic: str
    source_partition: int
    source_offset: str = strawberry.field(description="A Kafka offset (64 bits: in decimal).")
    code: str = strawberry.field(description="The reason code (docs/design.md).")
    reason: str
    failed_at: datetime
    replayed_at: datetime | None
    replayed_by: str | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> DeadLetter:
        return cls(
            id=strawberry.ID(str(row["id"])),
            source_topic=row["source_topic"],
            source_partition=row["source_partition"],
            source_offset=str(row["source_offset"]),
            code=row["code"],
            reason=row["reason"],
            failed_at=row["failed_at"],
            replayed_at=row["replayed_at"],
            replayed_by=row["replayed_by"],
        )


@strawberry.input
class DeadLetterFilterInput:
    codes: list[str] | None = None
    topics: list[str] | None = strawberry.field(default=None, description="source topics")
    replayed: bool | None = None


@strawberry.type
class DeadLettersReplayed:
    replayed: list[DeadLetter] = strawberry.field(
        description="Sent back to their source topics; the worker processes them again."
    )
    missing: list[strawberry.ID] = strawberry.field(
        description="Dead letters whose original the dead-letter topic no longer holds."
    )


ReplayResult = Annotated[
    DeadLettersReplayed | ValidationFailed, strawberry.union("ReplayDeadLettersResult")
]


@strawberry.type
class DeadLetterQueries:
    @strawberry.field(description="Dead letters, newest first unless ordered otherwise (admin).")
    async def dead_letters(
        self,
        info: Info[Context, None],
        *,
        filter: DeadLetterFilterInput | None = None,
        order: Order = Order.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[DeadLetter]:
        request = page_request(info, first, after, last, before)
        given = filter or DeadLetterFilterInput()
        store_filter = DeadLetterFilter(given.codes, given.topics, given.replayed)
        pool = info.context.pool
        return await connection(
            info,
            lambda req, size: dead_letters_page(pool, store_filter, order.descending, req, size),
            request,
            DeadLetter.from_row,
        )


@strawberry.type
class DeadLetterMutations:
    @strawberry.mutation(
        description="Send dead letters' originals back to their source topics (admin), e.g. "
        f"after a fix was deployed; at most {MAX_REPLAY} per call."
    )
    async def replay_dead_letters(
        self, info: Info[Context, None], ids: list[strawberry.ID]
    ) -> ReplayResult:
        keys = [int_id(i) for i in ids]
        if not ids or len(ids) > MAX_REPLAY or any(k is None for k in keys):
            return ValidationFailed(message=f"give 1 to {MAX_REPLAY} dead letter ids", field="ids")
        pool = info.context.pool
        rows = await dead_letters_by_ids(pool, [k for k in keys if k is not None])
        found = {r["id"] for r in rows}
        placed = [
            Placed(r["id"], r["dlq_topic"], r["dlq_partition"], r["dlq_offset"], r["source_topic"])
            for r in rows
        ]
        bootstrap = info.context.app_state.endpoints.kafka_bootstrap_servers
        replayed, missing = await replay_dead_letters(bootstrap, placed)
        viewer = info.context.signed_in()
        await mark_replayed(pool, replayed, f"user:{viewer.username}")
        after = await dead_letters_by_ids(pool, replayed)
        unknown = [k for k in keys if k is not None and k not in found]
        return DeadLettersReplayed(
            replayed=[DeadLetter.from_row(r) for r in after],
            missing=[strawberry.ID(str(i)) for i in [*missing, *unknown]],
        )
