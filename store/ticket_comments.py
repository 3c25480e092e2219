"""The conversation of tickets: their comments (GitHub issue comments, GitLab notes) as the sink
wrote them into ``ticket_comments`` (migration 0021), read for the API."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import asyncpg

# Deleted comments keep their row (so that a late delivery cannot restore them) but are no
# longer part of the conversation.
_COMMENTS_OF_TICKETS = """
SELECT t.id AS ticket_id, c.comment_id, c.author_id, c.body, c.created_at, c.updated_at
FROM ticket_comments c
JOIN tickets t USING (source_system, external_id)
WHERE t.id = ANY($1::bigint[]) AND NOT c.deleted
ORDER BY t.id, c.created_at, c.comment_id
"""


async def comments_of_tickets(
    pool: asyncpg.Pool, ticket_ids: Sequence[int]
) -> dict[int, list[asyncpg.Record]]:
    """The live comments of each ticket (by ``tickets.id``), oldest first."""
    grouped: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for row in await pool.fetch(_COMMENTS_OF_TICKETS, list(ticket_ids)):
        grouped[row["ticket_id"]].append(row)
    return grouped
