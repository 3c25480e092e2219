"""Triage of tickets as the worker writes them: the triage stage (``streams.triage``) decides
category, priority, team and confidence for every ticket of a batch, and the SLA due time follows
from the priority; the result goes into the ticket's row in the same transaction, so the
ticket's history records each decision and its change.

A ticket updated later is triaged again with its new content. Rules and the model run here (CPU,
a fraction of a millisecond per ticket). When an LLM is configured for the task ``triage``, the
tickets that rules and model abstained on are asked of it, concurrently; its answer counts only
for a category of the taxonomy, and anything else (no provider, budget, personal data in the
ticket, a timeout) leaves the ticket abstained with a note. The ticket's batch waits for those
answers, at most ``OPSASSIST_TRIAGE_LLM_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from llm import LLMClient
from opsassist.settings import Settings
from schemas import TicketEvent
from store.sink import TicketTriageFields
from streams import metrics
from streams.triage import (
    PRIORITIES,
    Category,
    LlmClassifier,
    LlmVerdict,
    Ticket,
    TriageModel,
    Triager,
    load_config,
    sla_due_at,
    ticket_from_payload,
)

_LAYERS = ("rule", "model", "llm", "human", "none")


def load_model(path: Path | None) -> TriageModel | None:
    """The model written by ``opsassist triage train``, or None (rules only)."""
    return TriageModel.from_bytes(path.read_bytes()) if path is not None else None


class TriageAnswer(BaseModel):
    """The LLM's answer to the prompt ``triage.classify``."""

    category: str
    priority: str
    reason: str


def llm_classifier(client: LLMClient) -> LlmClassifier | None:
    """The triage stage's LLM hook on the LLM layer's ``triage`` task; None when no LLM is
    configured for it. An LLM answer carries no calibrated probability: it is recorded at the
    category's own threshold, the confidence at which triage would accept it."""
    if not client.configured("triage"):
        return None

    async def classify(ticket: Ticket, categories: Sequence[Category]) -> LlmVerdict | None:
        inputs = {
            "title": ticket.title,
            "body": ticket.body,
            "categories": [c.id for c in categories],
            "priorities": list(PRIORITIES),
        }
        nothing = TriageAnswer(category="", priority="", reason="")
        result = await client.run("triage", inputs, TriageAnswer, nothing)
        if result.produced_by != "llm":
            return None
        answer = result.value
        threshold = next((c.threshold for c in categories if c.id == answer.category), 0.5)
        return LlmVerdict(category=answer.category, confidence=threshold, reason=answer.reason)

    return classify


class TicketTriage:
    """The worker's before-write stage for tickets."""

    def __init__(self, triager: Triager) -> None:
        self._triager = triager
        for layer in _LAYERS:
            metrics.TRIAGE_DECISIONS.labels(layer)

    @classmethod
    def from_settings(cls, settings: Settings, llm: LLMClient | None = None) -> TicketTriage:
        return cls(
            Triager(
                load_config(settings.triage_config),
                load_model(settings.triage_model_path),
                llm=llm_classifier(llm) if llm is not None else None,
                llm_timeout_seconds=settings.triage_llm_timeout_seconds,
            )
        )

    async def __call__(self, events: Sequence[TicketEvent]) -> list[TicketTriageFields]:
        tickets = [ticket_from_payload(e.payload) for e in events]
        results = await self._triager.triage_batch_async(tickets)
        sla = self._triager.config.sla
        fields = []
        for event, result in zip(events, results, strict=True):
            metrics.TRIAGE_DECISIONS.labels(result.layer).inc()
            if result.needs_triage:
                metrics.TRIAGE_ABSTENTIONS.inc()
            decided = result.to_dict()
            fields.append(
                TicketTriageFields(
                    category=result.category,
                    suggested_category=result.suggested_category,
                    priority=result.priority,
                    team=result.team,
                    confidence=result.confidence,
                    needs_triage=result.needs_triage,
                    layer=result.layer,
                    details={k: decided[k] for k in ("explanation", "model_version", "notes")},
                    sla_due_at=sla_due_at(event.payload.created_at, result.priority, sla),
                )
            )
        return fields
