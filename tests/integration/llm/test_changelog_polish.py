"""The changelog polish through the real LLM client (over HTTP, to a fake OpenAI server) and a
real PostgreSQL: an accepted rewording is stored with its provenance, a rejected one leaves the
deterministic text, and an unchanged release is never sent again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from opsassist.llm import LLMClient
from opsassist.schemas import CommitEvent, CommitPayloadV1
from opsassist.store.changelog import changelog_markdown
from opsassist.store.pool import create_pool
from opsassist.store.sink import EventSink, Origin, commit_row
from opsassist.streams.agents.changelog import ChangelogUpdater
from opsassist.streams.changelog import default_config
from tests.unit.llm.conftest import config_for
from tests.unit.llm.fake_openai import FakeOpenAI, answer

pytestmark = pytest.mark.integration

MODEL = {
    "name": "primary",
    "max_tokens": 500,
    "timeout_seconds": 5,
    "input_usd_per_million_tokens": 1.0,
    "output_usd_per_million_tokens": 2.0,
}
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def commit(n: int, message: str, tags: list[str] | None = None) -> tuple[Any, ...]:
    sha = f"{n:040x}"
    at = T0 + timedelta(minutes=n)
    event = CommitEvent(
        id=f"shop@{sha}",
        schema_version=1,
        source="test",
        occurred_at=at,
        payload=CommitPayloadV1(
            repo="shop",
            sha=sha,
            author_name="Ada",
            parents=[f"{n - 1:040x}"] if n > 1 else [],
            authored_at=at,
            committed_at=at,
            message=message,
            tags=tags or [],
        ),
    )
    return commit_row(event, Origin("t", 0, n))


async def stored_markdown(pool: asyncpg.Pool) -> str | None:
    async with pool.acquire() as conn:
        return await changelog_markdown(conn, "shop")


async def polish_of(pool: asyncpg.Pool, tag: str) -> dict[str, Any]:
    raw = await pool.fetchval(
        "SELECT polish FROM changelog_releases WHERE repo = 'shop' AND tag = $1", tag
    )
    result: dict[str, Any] = orjson.loads(raw)
    return result


async def test_accepted_and_rejected_rewordings(
    database_url: str, fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    pool = await create_pool(database_url)
    try:
        await EventSink(pool).write_commits(
            [
                commit(1, "feat(api): list orders"),
                commit(2, "fix: paging is off by one", ["v0.1.0"]),
            ]
        )
        client = make_client(config_for([MODEL]))
        updater = ChangelogUpdater(pool, default_config(), llm=client)
        # the v0.1.0 release has two entries (feat first, then fix in the default group order)
        fake_openai.queue(
            "primary", answer({"texts": ["Orders can now be listed", "Paging shows every page"]})
        )
        assert await updater.regenerate("shop") == 1
        markdown = await stored_markdown(pool)
        assert markdown is not None
        assert "Orders can now be listed" in markdown and "Paging shows every page" in markdown
        polish = await polish_of(pool, "v0.1.0")
        assert polish["accepted"] is True
        assert polish["llm"]["produced_by"] == "llm"
        assert polish["llm"]["prompts"] == [{"id": "changelog_polish.reword", "version": 1}]
        assert polish["llm"]["prompt_tokens"] > 0
        sent = fake_openai.requests_for("primary")
        assert len(sent) == 1 and "list orders" in orjson.dumps(sent[0]["messages"]).decode()

        # nothing changed: regenerating sends nothing
        assert await updater.regenerate("shop") == 0
        assert len(fake_openai.requests_for("primary")) == 1

        # a late commit changes the Unreleased section; the model drops an entry: refused
        await EventSink(pool).write_commits(
            [commit(3, "feat: gift cards"), commit(4, "fix: rounding of totals")]
        )
        fake_openai.queue("primary", answer({"texts": ["Gift cards"]}))
        assert await updater.regenerate("shop") == 1
        unreleased = await polish_of(pool, "")
        assert unreleased["accepted"] is False
        assert unreleased["problems"]
        markdown = await stored_markdown(pool)
        assert markdown is not None and "gift cards" in markdown.lower()
        assert "Rounding of totals" in markdown or "rounding of totals" in markdown
    finally:
        await pool.close()


async def test_the_release_history_names_the_llm_only_where_its_rewording_was_kept(
    database_url: str, fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    pool = await create_pool(database_url)
    try:
        await EventSink(pool).write_commits([commit(1, "feat(api): list orders", ["v0.1.0"])])
        updater = ChangelogUpdater(pool, default_config(), llm=make_client(config_for([MODEL])))
        fake_openai.queue("primary", answer({"texts": ["Orders can now be listed"]}))
        assert await updater.regenerate("shop") == 1
        await EventSink(pool).write_commits([commit(2, "fix: rounding of totals")])
        fake_openai.queue("primary", answer({"texts": []}))  # drops the entry: refused
        assert await updater.regenerate("shop") == 1
        history = await pool.fetch(
            """SELECT r.tag, c.changed_by, c.model, c.prompt_version
            FROM changelog_release_changes c JOIN changelog_releases r ON r.id = c.release_id
            WHERE r.repo = 'shop' ORDER BY r.tag DESC, c.version"""
        )
        assert [tuple(row) for row in history] == [
            ("v0.1.0", "agent:changelog", "fake/primary", "changelog_polish.reword.v1"),
            ("", "agent:changelog", None, None),
        ]
    finally:
        await pool.close()
