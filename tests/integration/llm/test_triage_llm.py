"""The worker's triage asks the LLM (over HTTP, a fake OpenAI server) only about tickets rules
and model abstained on; an answer outside the taxonomy, or a ticket with personal data, leaves
the ticket abstained."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from opsassist.llm import LLMClient, PromptLibrary
from opsassist.schemas import TicketEvent, TicketPayloadV2
from opsassist.store.history import Actor
from opsassist.streams.agents.tickets import LlmAnswers, TicketTriage, llm_classifier
from opsassist.streams.triage import Triager, load_config
from tests.unit.llm.conftest import config_for
from tests.unit.llm.fake_openai import FakeOpenAI, Reply, answer

pytestmark = pytest.mark.integration

MODEL = {"name": "primary", "max_tokens": 200, "timeout_seconds": 5}
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def ticket(n: int, title: str, body: str) -> TicketEvent:
    return TicketEvent(
        id=f"t-{n}", schema_version=2, source="test", occurred_at=T0,
        payload=TicketPayloadV2(external_id=f"T-{n}", source_system="jira", title=title,
                                body=body, status="open", created_at=T0, updated_at=T0),
    )  # fmt: skip


async def test_only_abstained_tickets_go_to_the_llm_and_its_answer_is_checked(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    client = make_client(config_for([MODEL]))
    classify = llm_classifier(client)
    assert classify is not None
    stage = TicketTriage(Triager(load_config(None), None, llm=classify))

    # requests run concurrently: answer by content, not by arrival order
    def reply(request: dict[str, object]) -> Reply:
        if "export my report" in str(request["messages"]):
            return answer(
                {"category": "question", "priority": "P3", "reason": "asks how to do something"}
            )
        return answer({"category": "weather", "priority": "P3", "reason": "not a category"})

    fake_openai.respond("primary", reply)
    fields = await stage(
        [
            ticket(1, "Production down", "outage on checkout"),  # a rule decides: no LLM
            ticket(2, "Hello", "how do I export my report"),
            ticket(3, "Hi", "something unusual"),
            ticket(4, "Hey", "please call me back at jane.doe@example.com"),  # personal data
        ]
    )
    rule, asked, unknown, private = fields
    assert (rule.layer, rule.category) == ("rule", "incident")
    assert (asked.layer, asked.category, asked.needs_triage) == ("llm", "question", False)
    assert asked.details["explanation"]["summary"] == "LLM: asks how to do something"
    assert unknown.needs_triage is True and unknown.category is None
    assert any("unknown category" in note for note in unknown.details["notes"])
    assert private.needs_triage is True
    # two requests: tickets 2 and 3; ticket 1 was decided by a rule, ticket 4 never left
    sent = fake_openai.requests_for("primary")
    assert len(sent) == 2
    assert all("example.com" not in str(r["messages"]) for r in sent)


def test_without_a_provider_there_is_no_llm_hook() -> None:
    client = LLMClient(config_for([MODEL]), {})  # no provider configured
    assert llm_classifier(client) is None


async def test_the_triage_request_carries_the_strict_schema_and_its_answer_is_used(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    client = make_client(config_for([MODEL]))
    classify = llm_classifier(client)
    assert classify is not None
    stage = TicketTriage(Triager(load_config(None), None, llm=classify))
    fake_openai.queue(
        "primary", answer({"category": "question", "priority": "P3", "reason": "a how-to"})
    )

    (asked,) = await stage([ticket(5, "Hello", "how do I export my report")])

    assert (asked.layer, asked.category, asked.priority) == ("llm", "question", "P3")
    assert asked.details["explanation"]["summary"] == "LLM: a how-to"
    (request,) = fake_openai.requests_for("primary")
    response_format = request["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["category", "priority", "reason"]
    assert response_format == PromptLibrary.from_directory().get("triage.classify").response_format


async def test_a_ticket_the_llm_triaged_names_its_model_and_prompt_as_the_actor(
    fake_openai: FakeOpenAI, make_client: Callable[..., LLMClient]
) -> None:
    client = make_client(config_for([MODEL]))
    answers: LlmAnswers = {}
    classify = llm_classifier(client, answers)
    stage = TicketTriage(Triager(load_config(None), None, llm=classify), llm_answers=answers)
    fake_openai.queue(
        "primary", answer({"category": "question", "priority": "P3", "reason": "asks how to"})
    )
    rule, asked = await stage.decide(
        [ticket(1, "Production down", "outage on checkout"), ticket(2, "Hi", "how do I export")]
    )
    assert rule.actor == Actor("agent:triage")
    assert asked.fields.layer == "llm"
    assert asked.actor == Actor(
        "agent:triage", model="fake/primary", prompt_version="triage.classify.v1"
    )
