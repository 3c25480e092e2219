"""LLMClient.run over real HTTP against the fake OpenAI-compatible server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from opsassist.llm import (
    InMemoryAnswerCache,
    LLMClient,
    LLMConfig,
    PromptError,
    PromptLibrary,
    Provider,
)
from opsassist.llm.config import ProviderEndpoint
from opsassist.llm.resilience import BreakerState
from opsassist.settings import Settings
from tests.unit.llm.conftest import FakeClock, RecordingSleep, config_for, sample
from tests.unit.llm.fake_openai import (
    HANG,
    SERVER_ERROR,
    FakeOpenAI,
    Reply,
    answer,
    rate_limited,
)

PRIMARY = {
    "name": "primary",
    "input_usd_per_million_tokens": 1.0,
    "output_usd_per_million_tokens": 2.0,
    "max_tokens": 200,
}
SECONDARY = {"name": "secondary", "max_tokens": 200}
TICKET = {
    "title": "Checkout page times out",
    "body": "Since the deploy at noon, the checkout page returns 504 for most customers.",
    "categories": ["bug", "outage", "question"],
    "priorities": ["low", "high", "urgent"],
}
GOOD = {"category": "outage", "priority": "urgent", "reason": "checkout is down"}


class Triage(BaseModel):
    category: str
    priority: str
    reason: str


RULES = Triage(category="bug", priority="high", reason="rules")


async def test_answer_is_parsed_and_carries_its_provenance(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue("primary", answer(GOOD, prompt_tokens=300, completion_tokens=40))
    client = make_client(config_for([PRIMARY]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert result.produced_by == "llm" and result.reason == "ok"
    assert result.value == Triage(**GOOD)
    assert result.prompts == (("triage.classify", 1),)
    assert result.models == ("fake/primary",)
    assert (result.prompt_tokens, result.completion_tokens) == (300, 40)
    assert result.cost_usd == pytest.approx((300 * 1.0 + 40 * 2.0) / 1e6)
    provenance = result.provenance()
    assert provenance["prompts"] == [{"id": "triage.classify", "version": 1}]
    assert provenance["produced_by"] == "llm" and provenance["steps"][0]["requests"] == 1
    sent = fake_openai.requests[0]
    strict = PromptLibrary.from_directory().get("triage.classify").response_format
    assert sent["response_format"] == strict and sent["max_tokens"] == 200
    assert "Checkout page times out" in sent["messages"][1]["content"]
    assert '"category"' in sent["messages"][0]["content"]  # the schema is part of the prompt


async def test_no_provider_configured_gives_the_deterministic_result_and_says_so() -> None:
    settings = Settings(OPENAI_API_KEY="", OPENAI_BASE_URL="", llm_config_file=None)
    client = LLMClient.from_settings(settings)
    before = sample(
        "opsassist_llm_results_total",
        task="triage",
        produced_by="deterministic",
        reason="not_configured",
    )

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert not client.configured("triage")
    assert (result.produced_by, result.reason, result.value) == (
        "deterministic",
        "not_configured",
        RULES,
    )
    assert result.steps == () and result.cost_usd == 0
    assert (
        sample(
            "opsassist_llm_results_total",
            task="triage",
            produced_by="deterministic",
            reason="not_configured",
        )
        == before + 1
    )
    await client.aclose()


async def test_missing_chain_input_is_a_bug_and_raises(
    make_client: Callable[..., LLMClient],
) -> None:
    client = make_client(config_for([PRIMARY]))
    with pytest.raises(PromptError, match="body"):
        await client.run(
            "triage", {k: v for k, v in TICKET.items() if k != "body"}, Triage, deterministic=RULES
        )


async def test_429_waits_at_least_retry_after_then_succeeds(
    fake_openai: FakeOpenAI,
    make_client: Callable[..., LLMClient],
    recorded_sleep: RecordingSleep,
) -> None:
    fake_openai.queue("primary", rate_limited("7"), answer(GOOD))
    client = make_client(config_for([PRIMARY]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert result.produced_by == "llm"
    assert len(fake_openai.requests_for("primary")) == 2
    assert recorded_sleep.delays and recorded_sleep.delays[0] >= 7.0
    assert result.steps[0].requests == 2


async def test_retry_after_longer_than_we_wait_moves_to_the_next_model_at_once(
    fake_openai: FakeOpenAI,
    make_client: Callable[..., LLMClient],
    recorded_sleep: RecordingSleep,
) -> None:
    fake_openai.queue("primary", rate_limited("3600"))
    fake_openai.queue("secondary", answer(GOOD))
    client = make_client(config_for([PRIMARY, SECONDARY]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert result.models == ("fake/secondary",)
    assert recorded_sleep.delays == []
    assert len(fake_openai.requests_for("primary")) == 1


async def test_500_is_retried_with_backoff_then_the_second_model_answers(
    fake_openai: FakeOpenAI,
    make_client: Callable[..., LLMClient],
    recorded_sleep: RecordingSleep,
) -> None:
    fake_openai.queue("primary", SERVER_ERROR, SERVER_ERROR, SERVER_ERROR)
    fake_openai.queue("secondary", answer(GOOD))
    client = make_client(config_for([PRIMARY, SECONDARY]))
    fallbacks = sample("opsassist_llm_fallbacks_total", task="triage", model="fake/primary")

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert (result.produced_by, result.models) == ("llm", ("fake/secondary",))
    assert len(fake_openai.requests_for("primary")) == 3  # the policy's attempts
    assert len(recorded_sleep.delays) == 2
    # full jitter: each wait lies within its exponential ceiling (0.5 s, then 1 s)
    assert 0 <= recorded_sleep.delays[0] <= 0.5 and 0 <= recorded_sleep.delays[1] <= 1.0
    assert (
        sample("opsassist_llm_fallbacks_total", task="triage", model="fake/primary")
        == fallbacks + 1
    )
    failed = [s for s in result.steps if not s.ok]
    assert [(s.model, s.requests) for s in failed] == [("fake/primary", 3)]


async def test_a_timeout_falls_back_without_retrying_the_slow_model(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue("primary", HANG)
    fake_openai.queue("secondary", answer(GOOD))
    slow = {**PRIMARY, "timeout_seconds": 0.3}
    client = make_client(config_for([slow, SECONDARY]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert result.models == ("fake/secondary",)
    assert len(fake_openai.requests_for("primary")) == 1


async def test_every_model_failing_leaves_the_deterministic_result(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue("primary", Reply(status=400))
    fake_openai.queue("secondary", Reply(status=401))
    client = make_client(config_for([PRIMARY, SECONDARY]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert (result.produced_by, result.reason, result.value) == (
        "deterministic",
        "providers_failed",
        RULES,
    )
    assert len(fake_openai.requests) == 2  # 4xx are not retried


async def test_malformed_answer_is_repaired_once(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue("primary", Reply(content="Sure! The category is outage."), answer(GOOD))
    client = make_client(config_for([PRIMARY]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert result.produced_by == "llm" and result.value == Triage(**GOOD)
    repair = fake_openai.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! The category is outage."}
    assert "invalid" in repair[-1]["content"]
    assert result.steps[0].requests == 2 and result.prompt_tokens == 200


async def test_malformed_twice_keeps_the_deterministic_result_and_counts_it(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    wrong_shape = answer({"category": "outage"})  # JSON, but lacks priority and reason
    fake_openai.queue("primary", Reply(content="{not json"), wrong_shape)
    fake_openai.queue("secondary", answer(GOOD))
    client = make_client(config_for([PRIMARY, SECONDARY]))
    malformed = sample("opsassist_llm_errors_total", task="triage", model="", kind="malformed")

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert (result.produced_by, result.reason, result.value) == (
        "deterministic",
        "malformed_output",
        RULES,
    )
    assert fake_openai.requests_for("secondary") == []  # malformed is not a provider failure
    assert (
        sample("opsassist_llm_errors_total", task="triage", model="", kind="malformed")
        == malformed + 1
    )
    assert result.steps[0].requests == 2 and not result.steps[0].ok


async def test_circuit_opens_then_half_opens_for_one_trial(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient], clock: FakeClock
) -> None:
    fake_openai.queue("primary", SERVER_ERROR, SERVER_ERROR)
    client = make_client(config_for([PRIMARY]), breaker_failures=2, breaker_reset_seconds=30)

    first = await client.run("triage", TICKET, Triage, deterministic=RULES)
    assert first.reason == "providers_failed"
    assert client.breaker("fake").state is BreakerState.OPEN
    sent = len(fake_openai.requests)

    while_open = await client.run("triage", TICKET, Triage, deterministic=RULES)
    assert while_open.reason == "circuit_open"
    assert len(fake_openai.requests) == sent  # nothing was sent

    clock.advance(30)
    assert client.breaker("fake").state is BreakerState.HALF_OPEN
    fake_openai.queue("primary", answer(GOOD))
    trial = await client.run("triage", TICKET, Triage, deterministic=RULES)
    assert trial.produced_by == "llm"
    assert client.breaker("fake").state is BreakerState.CLOSED


async def test_failed_half_open_trial_reopens_the_circuit(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient], clock: FakeClock
) -> None:
    fake_openai.queue("primary", SERVER_ERROR, SERVER_ERROR, SERVER_ERROR)
    client = make_client(config_for([PRIMARY]), breaker_failures=2, breaker_reset_seconds=30)
    await client.run("triage", TICKET, Triage, deterministic=RULES)
    clock.advance(30)

    trial = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert trial.steps[0].requests == 1  # one trial, no retries while half-open
    assert client.breaker("fake").state is BreakerState.OPEN


async def test_hourly_budget_exhausted_uses_the_deterministic_path_until_the_hour_passes(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient], clock: FakeClock
) -> None:
    fake_openai.respond(
        "primary", lambda _: answer(GOOD, prompt_tokens=1_300, completion_tokens=100)
    )
    # The first request's worst case (prompt estimate + max_tokens) fits in 1,500 tokens; once
    # it has really used 1,400, the second one's worst case does not.
    client = make_client(config_for([PRIMARY], max_tokens_per_hour=1_500))

    first = await client.run("triage", TICKET, Triage, deterministic=RULES)
    second = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert first.produced_by == "llm"
    assert (second.produced_by, second.reason) == ("deterministic", "budget_exhausted")
    assert len(fake_openai.requests) == 1
    clock.advance(3601)
    third = await client.run("triage", TICKET, Triage, deterministic=RULES)
    assert third.produced_by == "llm"


async def test_run_budget_too_small_sends_nothing(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    client = make_client(config_for([PRIMARY], max_cost_per_run_usd=1e-9))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert (result.produced_by, result.reason) == ("deterministic", "budget_exhausted")
    assert fake_openai.requests == []


async def test_cache_hit_makes_no_request(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue("primary", answer(GOOD))
    cache = InMemoryAnswerCache()
    client = make_client(config_for([PRIMARY]), cache=cache)
    hits = sample("opsassist_llm_cache_hits_total", task="triage", model="fake/primary")

    first = await client.run("triage", TICKET, Triage, deterministic=RULES)
    second = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert len(fake_openai.requests) == 1 and len(cache) == 1
    assert second.value == first.value and second.produced_by == "llm"
    assert second.cached and second.cost_usd == 0 and not first.cached
    assert sample("opsassist_llm_cache_hits_total", task="triage", model="fake/primary") == hits + 1
    other = await client.run("triage", {**TICKET, "title": "Another"}, Triage, deterministic=RULES)
    assert other.produced_by == "deterministic"  # a different input is a miss (unscripted 500)


async def test_personal_data_is_refused_before_it_leaves(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.respond("primary", lambda _: answer(GOOD))
    client = make_client(config_for([PRIMARY]))
    ticket = {**TICKET, "body": "Please call me back, jane.doe@example.com"}

    result = await client.run("triage", ticket, Triage, deterministic=RULES)

    assert (result.produced_by, result.reason) == ("deterministic", "personal_data")
    assert "email" in result.detail
    assert fake_openai.requests == []


async def test_a_plugged_in_privacy_check_replaces_the_built_in_one(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.respond("primary", lambda _: answer(GOOD))
    seen: list[str] = []

    def engine(text: str) -> list[str]:
        seen.append(text)
        return ["person_name"] if "Jane" in text else []

    client = make_client(config_for([PRIMARY]), guard=engine)
    refused = await client.run(
        "triage", {**TICKET, "body": "Jane says hi"}, Triage, deterministic=RULES
    )
    allowed = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert (refused.reason, allowed.reason) == ("personal_data", "ok")
    assert len(fake_openai.requests) == 1 and seen


class Incident(BaseModel):
    title: str
    summary: str
    impact: str
    probable_cause: str


def _summarize_responder(body: dict[str, Any]) -> Reply:
    user = body["messages"][1]["content"]
    if "Log template group" in user:
        return answer({"meaning": "disk errors", "severity": "error"})
    if "Readings of the log template groups" in user:
        return answer(
            {"summary": "Disks fail.", "impact": "writes lost", "probable_cause": "a bad disk"}
        )
    return answer({"title": "DataNode disk failures"})


async def test_declared_chain_maps_reduces_and_titles(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.respond("primary", _summarize_responder)
    client = make_client(config_for([PRIMARY]))
    groups = [{"template": f"Disk <*> failed on volume {i}", "count": 10 + i} for i in range(3)]
    inputs = {"service": "hdfs", "window": "10:00-10:05", "groups": groups}
    fallback = Incident(title="t", summary="s", impact="i", probable_cause="c")

    result = await client.run("summarize", inputs, Incident, deterministic=fallback)

    assert result.produced_by == "llm"
    assert result.value == Incident(
        title="DataNode disk failures",
        summary="Disks fail.",
        impact="writes lost",
        probable_cause="a bad disk",
    )
    assert [p for p, _ in result.prompts] == [
        "summarize.group",
        "summarize.incident",
        "summarize.title",
    ]
    assert len(fake_openai.requests) == 5  # three groups, one reduce, one title
    reduce_prompt = fake_openai.requests[3]["messages"][1]["content"]
    assert reduce_prompt.count("disk errors") == 3  # the map answers reach the reduce step


async def test_concurrency_limit_holds_requests_back(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.respond("primary", lambda _: HANG)
    client = make_client(config_for([{**PRIMARY, "timeout_seconds": 30}]), max_concurrency=2)
    groups = [{"template": f"t{i}"} for i in range(4)]

    run = asyncio.create_task(
        client.run(
            "summarize",
            {"service": "s", "window": "w", "groups": groups},
            Incident,
            deterministic=Incident(title="", summary="", impact="", probable_cause=""),
        )
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while fake_openai.in_flight < 2 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    for _ in range(50):  # let any request that the limit failed to hold reach the server
        await asyncio.sleep(0)
    assert fake_openai.in_flight == 2
    fake_openai.release.set()
    await run
    assert fake_openai.max_in_flight == 2


async def test_run_many_answers_a_batch_in_its_order(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    def by_title(body: dict[str, Any]) -> Reply:
        user = body["messages"][1]["content"]
        title = user.split("Ticket title: ", 1)[1].split("\n", 1)[0]
        return answer({"category": "bug", "priority": "low", "reason": title})

    fake_openai.respond("primary", by_title)
    client = make_client(config_for([PRIMARY]))
    batch = [({**TICKET, "title": f"ticket {i}"}, RULES) for i in range(5)]
    batch.append(({**TICKET, "body": "mail me: a@b.example.com"}, RULES))

    results = await client.run_many("triage", batch, Triage)

    assert [r.value.reason for r in results[:5]] == [f"ticket {i}" for i in range(5)]
    assert (results[5].reason, results[5].value) == ("personal_data", RULES)


async def test_503_with_retry_after_as_an_http_date_is_honoured(
    fake_openai: FakeOpenAI,
    make_client: Callable[..., LLMClient],
    recorded_sleep: RecordingSleep,
) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=12), usegmt=True)
    fake_openai.queue("primary", Reply(status=503, headers={"Retry-After": later}), answer(GOOD))
    client = make_client(config_for([PRIMARY]))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert result.produced_by == "llm"
    # the date, less the time the request took; far above the 0.5 s backoff ceiling
    assert 5 <= recorded_sleep.delays[0] <= 12


async def test_azure_deployments_are_called_with_their_api_version_and_key(
    fake_openai: FakeOpenAI,
) -> None:
    config = LLMConfig.model_validate(
        {
            "providers": {
                "azure": {"base_url": "http://unused", "api_version": "2024-10-21"},
            },
            "tasks": {"triage": {"models": [{"name": "my-gpt4o-deployment", "provider": "azure"}]}},
        }
    )
    endpoint = ProviderEndpoint(
        name="azure",
        base_url=f"http://127.0.0.1:{fake_openai.port}",
        api_key="azure-key",
        api_version="2024-10-21",
    )
    fake_openai.queue("my-gpt4o-deployment", answer(GOOD))
    client = LLMClient(config, {"azure": Provider(endpoint)})
    try:
        result = await client.run("triage", TICKET, Triage, deterministic=RULES)
    finally:
        await client.aclose()

    assert result.produced_by == "llm"
    assert fake_openai.azure_calls == [
        {"deployment": "my-gpt4o-deployment", "api_version": "2024-10-21", "api_key": "azure-key"}
    ]


class BrokenCache:
    async def get(self, key: object) -> None:
        raise ConnectionError("database down")

    async def put(self, key: object, answer: object) -> None:
        raise ConnectionError("database down")


async def test_a_failing_cache_does_not_fail_the_run(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    fake_openai.queue("primary", answer(GOOD))
    client = make_client(config_for([PRIMARY]), cache=BrokenCache())
    errors = sample("opsassist_llm_errors_total", task="triage", model="fake/primary", kind="cache")

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert result.produced_by == "llm"
    assert (
        sample("opsassist_llm_errors_total", task="triage", model="fake/primary", kind="cache")
        == errors + 2
    )


async def test_a_model_over_the_run_budget_gives_way_to_a_cheaper_one(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    expensive = {**PRIMARY, "input_usd_per_million_tokens": 1_000.0}
    fake_openai.queue("secondary", answer(GOOD))
    client = make_client(config_for([expensive, SECONDARY], max_cost_per_run_usd=0.01))

    result = await client.run("triage", TICKET, Triage, deterministic=RULES)

    assert result.models == ("fake/secondary",)
    assert fake_openai.requests_for("primary") == []


async def test_one_failing_item_of_a_map_step_fails_the_whole_chain(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    def responder(body: dict[str, Any]) -> Reply:
        if "poison" in body["messages"][1]["content"]:
            return Reply(status=400)
        return _summarize_responder(body)

    fake_openai.respond("primary", responder)
    client = make_client(config_for([PRIMARY]))
    groups = [{"template": "fine"}, {"template": "poison"}, {"template": "fine too"}]
    fallback = Incident(title="t", summary="s", impact="i", probable_cause="c")

    result = await client.run(
        "summarize", {"service": "s", "window": "w", "groups": groups}, Incident, fallback
    )

    assert (result.produced_by, result.reason, result.value) == (
        "deterministic",
        "providers_failed",
        fallback,
    )
    assert not any(
        "Readings of the log template groups" in r["messages"][1]["content"]
        for r in fake_openai.requests
    )  # the reduce step never ran
