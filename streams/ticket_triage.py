"""Triage of tickets as the worker writes them: the triage stage (``streams.triage``) decides
category, priority, team and confidence for every ticket of a batch, and the SLA due time follows
from the priority; the result goes into the ticket's row in the same transaction, so the
ticket's history records each decision and its change.

A ticket updated later is triaged again with its new content. Rules and the model run here (CPU,
a fraction of a millisecond per ticket); the LLM layer is not asked from the worker yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from opsassist.settings import Settings
from schemas import TicketEvent
from store.sink import TicketTriageFields
from streams import metrics
from streams.triage import TriageModel, Triager, load_config, sla_due_at, ticket_from_payload

_LAYERS = ("rule", "model", "llm", "human", "none")


def load_model(path: Path | None) -> TriageModel | None:
    """The model written by ``opsassist triage train``, or None (rules only)."""
    return TriageModel.from_bytes(path.read_bytes()) if path is not None else None


class TicketTriage:
    """The worker's before-write stage for tickets."""

    def __init__(self, triager: Triager) -> None:
        self._triager = triager
        for layer in _LAYERS:
            metrics.TRIAGE_DECISIONS.labels(layer)

    @classmethod
    def from_settings(cls, settings: Settings) -> TicketTriage:
        return cls(Triager(load_config(settings.triage_config),
                           load_model(settings.triage_model_path)))  # fmt: skip

    def __call__(self, events: Sequence[TicketEvent]) -> list[TicketTriageFields]:
        results = self._triager.triage_batch([ticket_from_payload(e.payload) for e in events])
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
