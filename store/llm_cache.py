"""The LLM answer cache in PostgreSQL (table ``llm_answers``, migration 0003): implements
:class:`llm.AnswerCache`. A hit also counts itself, so that unused answers can be pruned."""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg

from opsassist.llm.cache import CachedAnswer, CacheKey

_GET = """
UPDATE llm_answers
   SET hits = hits + 1, last_used_at = now()
 WHERE prompt_id = $1 AND prompt_version = $2 AND model = $3 AND input_hash = $4
RETURNING answer::text, prompt_tokens, completion_tokens, cost_usd
"""

# A concurrent writer of the same key got the same answer for the same input: keep the first.
_PUT = """
INSERT INTO llm_answers (prompt_id, prompt_version, model, input_hash, answer,
                         prompt_tokens, completion_tokens, cost_usd)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
ON CONFLICT (prompt_id, prompt_version, model, input_hash) DO NOTHING
"""

_PRUNE = "DELETE FROM llm_answers WHERE last_used_at < now() - $1::interval"


class PostgresAnswerCache:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, key: CacheKey) -> CachedAnswer | None:
        row = await self._pool.fetchrow(
            _GET, key.prompt_id, key.prompt_version, key.model, key.input_hash
        )
        if row is None:
            return None
        return CachedAnswer(
            answer=json.loads(row["answer"]),
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            cost_usd=row["cost_usd"],
        )

    async def put(self, key: CacheKey, answer: CachedAnswer) -> None:
        await self._pool.execute(
            _PUT,
            key.prompt_id,
            key.prompt_version,
            key.model,
            key.input_hash,
            json.dumps(answer.answer, ensure_ascii=False),
            answer.prompt_tokens,
            answer.completion_tokens,
            answer.cost_usd,
        )


async def prune_llm_answers(pool: asyncpg.Pool, unused_for: timedelta) -> int:
    """Delete answers not used for ``unused_for``; return how many."""
    status: str = await pool.execute(_PRUNE, unused_for)
    return int(status.rsplit(" ", 1)[-1])
