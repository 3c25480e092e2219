"""The PostgreSQL answer cache, on the real server the harness starts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import asyncpg
import pytest
from pydantic import BaseModel

from opsassist.llm import CachedAnswer, CacheKey, LLMClient
from opsassist.store.llm_cache import PostgresAnswerCache, prune_llm_answers
from opsassist.store.pool import create_pool
from tests.unit.llm.conftest import config_for
from tests.unit.llm.fake_openai import FakeOpenAI, answer

pytestmark = pytest.mark.integration

KEY = CacheKey("triage.classify", 1, "fake/primary", "ab" * 32)


async def test_answers_round_trip_and_count_their_hits(database_url: str) -> None:
    pool = await create_pool(database_url)
    try:
        cache = PostgresAnswerCache(pool)
        assert await cache.get(KEY) is None
        stored = CachedAnswer({"category": "outage", "tags": ["a", "ü"]}, 300, 40, 0.00042)
        await cache.put(KEY, stored)
        await cache.put(KEY, CachedAnswer({"category": "other"}, 1, 1, 0.0))  # first one stays
        assert await cache.get(KEY) == stored
        assert await cache.get(KEY) == stored
        other_version = CacheKey(KEY.prompt_id, 2, KEY.model, KEY.input_hash)
        assert await cache.get(other_version) is None
        assert await pool.fetchval("SELECT hits FROM llm_answers") == 2
    finally:
        await pool.close()


async def test_prune_removes_only_answers_unused_for_long(database_url: str) -> None:
    pool = await create_pool(database_url)
    try:
        cache = PostgresAnswerCache(pool)
        await cache.put(KEY, CachedAnswer({"a": 1}, 1, 1, 0.0))
        await cache.put(CacheKey("x", 1, "m", "cd"), CachedAnswer({"a": 2}, 1, 1, 0.0))
        await pool.execute(
            "UPDATE llm_answers SET last_used_at = now() - interval '40 days' WHERE prompt_id='x'"
        )
        assert await prune_llm_answers(pool, timedelta(days=30)) == 1
        assert await pool.fetchval("SELECT count(*) FROM llm_answers") == 1
    finally:
        await pool.close()


class Triage(BaseModel):
    category: str
    priority: str
    reason: str


TICKET = {
    "title": "Disk full",
    "body": "The build agents ran out of disk.",
    "categories": ["bug", "outage"],
    "priorities": ["low", "high"],
}


async def test_a_second_process_gets_the_answer_from_postgres_without_a_request(
    database_url: str, fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue(
        "primary", answer({"category": "outage", "priority": "high", "reason": "disk"})
    )
    rules = Triage(category="bug", priority="low", reason="rules")
    pool = await create_pool(database_url)
    try:
        first = make_client(config_for([{"name": "primary"}]), cache=PostgresAnswerCache(pool))
        second = make_client(config_for([{"name": "primary"}]), cache=PostgresAnswerCache(pool))
        fresh = await first.run("triage", TICKET, Triage, deterministic=rules)
        again = await second.run("triage", TICKET, Triage, deterministic=rules)
        assert len(fake_openai.requests) == 1
        assert (again.produced_by, again.cached, again.value) == ("llm", True, fresh.value)
        row = await pool.fetchrow("SELECT prompt_id, prompt_version, model FROM llm_answers")
        assert tuple(row) == ("triage.classify", 1, "fake/primary")
    finally:
        await pool.close()


async def test_the_migration_is_recorded(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert (
            await conn.fetchval("SELECT phase FROM migration_versions WHERE name = 'llm_cache'")
            == "expand"
        )
    finally:
        await conn.close()
