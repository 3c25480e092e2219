"""A window that opens an incident is summarized by the LLM (a fake OpenAI server over HTTP)
from template statistics and redacted examples, its text citing template ids, and the stored
summary records that the model and which prompts produced it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from opsassist.llm import LLMClient
from opsassist.schemas import LogEvent, LogPayloadV1
from opsassist.settings import Settings
from opsassist.store.pool import create_pool
from opsassist.streams.agents.logs import LogIntelligence
from tests.unit.llm.conftest import config_for
from tests.unit.llm.fake_openai import FakeOpenAI, Reply, answer

pytestmark = pytest.mark.integration

MODEL = {"name": "primary", "max_tokens": 300, "timeout_seconds": 5}
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def minute(m: int, errors: int) -> list[LogEvent]:
    events = []
    for n in range(20 + errors):
        ts = T0 + timedelta(minutes=m, seconds=n * 50 / (20 + errors))
        error = n >= 20
        message = (
            f"Payment for jane.doe@example.com failed: gateway timeout after {n} ms"
            if error
            else f"GET /orders/{n} 200"
        )
        events.append(
            LogEvent(id=f"{m}-{n}", schema_version=1, source="test", occurred_at=ts,
                     payload=LogPayloadV1(timestamp=ts, service="payments-api",
                                          level="ERROR" if error else "INFO", message=message))
        )  # fmt: skip
    return events


async def test_a_window_that_opens_an_incident_gets_an_llm_summary_citing_template_ids(
    database_url: str, fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    def reply(request: dict[str, Any]) -> Reply:
        user = request["messages"][1]["content"]
        if "Log template group" in user:
            item = orjson.loads(re.split(r"Log template group \d+:\n", user)[1].split("\n\n")[0])
            return answer({"meaning": f"[{item['template_id']}] payments time out",
                           "severity": "error"})  # fmt: skip
        if "Readings of the log template groups" in user:
            cited = re.findall(r"\[([0-9a-f]{16})\] payments time out", user)[0]
            text = f"Payments fail with gateway timeouts [{cited}] and [ffffffffffffffff]."
            return answer(
                {"summary": text, "impact": "checkouts fail", "probable_cause": "the gateway"}
            )
        return answer({"title": "Payment gateway timeouts"})

    fake_openai.respond("primary", reply)
    client = make_client(config_for([MODEL]))
    pool = await create_pool(database_url)
    try:
        logs = LogIntelligence.from_settings(Settings(DATABASE_URL=database_url), pool, llm=client)
        batches = [minute(m, errors=1) for m in range(6)] + [minute(6, 40), minute(7, 0)[:1]]
        for events in batches:
            await logs.before_write(events)
            await logs.after_write(events)
        await logs.drain()

        row = await pool.fetchrow(
            "SELECT * FROM log_summaries WHERE window_seconds = 60 AND window_start = $1",
            T0 + timedelta(minutes=6),
        )
        incident = await pool.fetchrow("SELECT * FROM incidents")
    finally:
        await pool.close()

    assert incident is not None and incident["summary_id"] == row["id"]
    assert row["produced_by"] == "llm"
    summary = orjson.loads(row["summary"])
    assert summary["title"] == "Payment gateway timeouts"
    errors = orjson.loads(row["top_error_templates"])
    timeout_id = errors[0]["template_id"]
    assert f"[{timeout_id}]" in summary["summary"]
    assert summary["template_ids"] == [timeout_id]  # the invented id is not kept as a citation
    provenance = orjson.loads(row["provenance"])
    assert provenance["models"] == ["fake/primary"]
    assert {(p["id"], p["version"]) for p in provenance["prompts"]} == {
        ("summarize.group", 2),
        ("summarize.incident", 2),
        ("summarize.title", 1),
    }
    # what reached the model: statistics and redacted examples, never the raw line
    sent = str(fake_openai.requests)
    assert timeout_id in sent and "jane.doe@example.com" not in sent
    assert "gateway timeout" in sent
