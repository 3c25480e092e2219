from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from opsassist.streams.triage import (
    Category,
    LlmVerdict,
    ModelSpec,
    Ticket,
    TriageConfig,
    TriageModel,
    Triager,
    load_config,
    train_model,
)
from tests.unit.triage.examples import EXAMPLES

QUESTION = Ticket("How do I change the port?", "How can I configure it? Where?", id="T-1")


@pytest.fixture(scope="module")
def model() -> TriageModel:
    return train_model(EXAMPLES, ModelSpec(c_grid=(4.0,)))


def _with_thresholds(config: TriageConfig, threshold: float) -> TriageConfig:
    categories = tuple(replace(c, threshold=threshold) for c in config.categories)
    return replace(config, categories=categories)


def _only_question_strict(config: TriageConfig) -> TriageConfig:
    categories = tuple(
        replace(c, threshold=0.999 if c.id == "question" else 0.7) for c in config.categories
    )
    return replace(config, categories=categories)


def test_model_decides_when_no_rule_matches(model: TriageModel) -> None:
    config = _with_thresholds(load_config(), 0.0)
    result = Triager(config, model).triage(QUESTION)
    assert (result.category, result.layer, result.team) == ("question", "model", "support")
    assert result.model_version == model.version
    assert result.ticket_id == "T-1"
    assert "how" in [t.term for t in result.explanation.terms]


def test_a_rule_wins_over_the_model(model: TriageModel) -> None:
    ticket = Ticket("How do I get a refund?", "How can I ask for a refund of the invoice?")
    result = Triager(load_config(), model).triage(ticket)
    assert (result.category, result.layer) == ("billing", "rule")


def test_below_the_class_threshold_triage_abstains_to_the_triage_queue(
    model: TriageModel,
) -> None:
    config = _with_thresholds(load_config(), 0.999)
    result = Triager(config, model).triage(QUESTION)
    assert result.needs_triage
    assert result.category is None
    assert result.suggested_category == "question"
    assert result.team == config.triage_queue
    assert result.priority == config.default_priority
    assert result.explanation.summary.startswith("abstained")


def test_thresholds_are_per_class(model: TriageModel) -> None:
    base = _with_thresholds(load_config(), 0.0)
    strict_questions = replace(
        base,
        categories=tuple(
            replace(c, threshold=0.999) if c.id == "question" else c for c in base.categories
        ),
    )
    crash = Ticket("Editor crashes with exception", "It throws an exception and crashes.")
    results = Triager(strict_questions, model).triage_batch([QUESTION, crash])
    assert [r.needs_triage for r in results] == [True, False]


def test_without_model_and_rule_it_abstains() -> None:
    result = Triager(load_config()).triage(QUESTION)
    assert result.needs_triage
    assert result.layer == "none"


def test_a_new_model_is_used_without_a_new_triager(model: TriageModel) -> None:
    triager = Triager(_with_thresholds(load_config(), 0.0))
    assert triager.triage(QUESTION).needs_triage
    triager.use_model(TriageModel.from_bytes(model.to_bytes()))
    assert triager.triage(QUESTION).category == "question"


class _FakeLlm:
    def __init__(self, verdict: LlmVerdict | None = None, error: Exception | None = None) -> None:
        self.verdict, self.error = verdict, error
        self.asked: list[str] = []

    async def __call__(self, ticket: Ticket, categories: Sequence[Category]) -> LlmVerdict | None:
        self.asked.append(ticket.id)
        assert "hr" in [c.id for c in categories]
        if self.error is not None:
            raise self.error
        return self.verdict


async def test_llm_is_asked_only_about_abstained_tickets(model: TriageModel) -> None:
    llm = _FakeLlm(LlmVerdict("hr", 0.9, "mentions a manager conflict"))
    # The model cannot reach the question threshold; the LLM's 0.9 clears HR's own threshold.
    config = _only_question_strict(load_config())
    refund = Ticket("Refund for invoice 7", id="T-2")  # the billing rule decides this one
    results = await Triager(config, model, llm=llm).triage_batch_async([QUESTION, refund])
    assert llm.asked == ["T-1"]
    assert (results[0].category, results[0].layer, results[0].team) == ("hr", "llm", "people")
    assert results[0].explanation.summary == "LLM: mentions a manager conflict"
    assert results[1].layer == "rule"


async def test_llm_failure_or_unknown_answer_leaves_the_ticket_abstained(
    model: TriageModel,
) -> None:
    config = _with_thresholds(load_config(), 0.999)
    failing = Triager(config, model, llm=_FakeLlm(error=RuntimeError("rate limited")))
    (failed,) = await failing.triage_batch_async([QUESTION])
    assert failed.needs_triage
    assert failed.notes == ("llm failed: RuntimeError: rate limited",)

    unknown = Triager(config, model, llm=_FakeLlm(LlmVerdict("astrology", 0.99, "?")))
    (ignored,) = await unknown.triage_batch_async([QUESTION])
    assert ignored.needs_triage


async def test_an_unsure_llm_does_not_end_abstention(model: TriageModel) -> None:
    config = _only_question_strict(load_config())
    unsure = Triager(config, model, llm=_FakeLlm(LlmVerdict("question", 0.6, "maybe")))
    (result,) = await unsure.triage_batch_async([QUESTION])
    assert result.needs_triage
    assert result.suggested_category == "question"


def test_a_ticket_event_payload_becomes_a_triage_ticket_without_the_reporter() -> None:
    from datetime import UTC, datetime

    from opsassist.schemas import TicketPayloadV2
    from opsassist.streams.triage import ticket_from_payload

    now = datetime(2026, 11, 20, tzinfo=UTC)
    payload = TicketPayloadV2(
        external_id="OPS-101",
        source_system="jira",
        title="Checkout fails",
        body="502s",
        reporter_id="alice@example.com",
        status="open",
        labels=["payments"],
        created_at=now,
        updated_at=now,
    )
    ticket = ticket_from_payload(payload, reporter_group="finance")
    assert ticket == Ticket(
        title="Checkout fails",
        body="502s",
        labels=("payments",),
        source="jira",
        reporter_group="finance",
        id="OPS-101",
    )
