"""Triage of tickets as the worker writes them: the triage stage (``opsassist.streams.triage``)
decides category, priority, team and confidence for every ticket of a batch, and the SLA due
time follows from the priority; the result goes into the ticket's row in the same transaction,
so the ticket's history records each decision and its change.

A ticket updated later is triaged again with its new content. Rules and the model run here (CPU,
a fraction of a millisecond per ticket). When an LLM is configured for the task ``triage``, the
tickets that rules and model abstained on are asked of it, concurrently; its answer counts only
for a category of the taxonomy, and anything else (no provider, budget, personal data in the
ticket, a timeout) leaves the ticket abstained with a note. The ticket's batch waits for those
answers, at most ``OPSASSIST_TRIAGE_LLM_TIMEOUT_SECONDS``.

Fields a person set (``human_fields``, see ``opsassist.store.ticket_workflow``) are looked up
for the batch's tickets and kept, with what follows from them (team and priority of a corrected
category); the database's trigger refuses any agent write to them besides. The model is the
newest active one in PostgreSQL (``triage_models``), checked every
``OPSASSIST_TRIAGE_MODEL_POLL_SECONDS`` and swapped in without a restart, unless a model file
pins it; every triage records the model version it used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog
from pydantic import BaseModel

from opsassist.llm import LLMClient
from opsassist.schemas import TicketEvent
from opsassist.settings import Settings
from opsassist.store.history import Actor
from opsassist.store.sink import TicketTriageFields
from opsassist.store.ticket_workflow import human_owned_fields
from opsassist.store.triage_models import active_model, active_model_version
from opsassist.streams.agents.actors import TRIAGE, llm_actor
from opsassist.streams.runtime import metrics
from opsassist.streams.triage import (
    PRIORITIES,
    Category,
    LlmClassifier,
    LlmVerdict,
    Ticket,
    Triage,
    TriageError,
    TriageModel,
    Triager,
    load_config,
    sla_due_at,
    ticket_from_payload,
    with_human_fields,
)

log = structlog.get_logger(__name__)

_LAYERS = ("rule", "model", "llm", "human", "none")


def load_model(path: Path | None) -> TriageModel | None:
    """The model written by ``opsassist triage train``, or None (rules only)."""
    return TriageModel.from_bytes(path.read_bytes()) if path is not None else None


class TriageAnswer(BaseModel):
    """The LLM's answer to the prompt ``triage.classify``."""

    category: str
    priority: str
    reason: str


#: Per ticket (source system, external id) the LLM answered for, who answered: its model and
#: prompt version, for the history of the ticket's write.
LlmAnswers = dict[tuple[str, str], Actor]


def llm_classifier(client: LLMClient, answers: LlmAnswers | None = None) -> LlmClassifier | None:
    """The triage stage's LLM hook on the LLM layer's ``triage`` task; None when no LLM is
    configured for it. An LLM answer carries no calibrated probability: it is recorded at the
    category's own threshold, the confidence at which triage would accept it. Each answer's
    model and prompt go into ``answers``, when given."""
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
        if answers is not None:
            answers[(ticket.source, ticket.id)] = llm_actor(TRIAGE, result)
        answer = result.value
        threshold = next((c.threshold for c in categories if c.id == answer.category), 0.5)
        return LlmVerdict(category=answer.category, confidence=threshold, reason=answer.reason)

    return classify


class ModelWatcher:
    """Keeps a triager on the newest active model stored in PostgreSQL. :meth:`refresh` reads
    the active version (one index lookup) and loads the model's bytes only when it changed; a
    model that cannot be loaded is logged, counted and skipped until a newer one is stored,
    and the triager keeps the model it has."""

    def __init__(self, pool: asyncpg.Pool, triager: Triager) -> None:
        self._pool = pool
        self._triager = triager
        self._seen: str | None = None  # the version loaded or found unloadable

    async def refresh(self) -> bool:
        """Swap in a newer active model if there is one; True if the model changed."""
        try:
            version = await active_model_version(self._pool)
            if version == self._seen:
                return False
            stored = await active_model(self._pool) if version is not None else None
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("triage model check failed; keeping the current model", error=str(exc))
            return False
        if stored is None:  # every model deactivated: back to rules only
            self._seen = None
            self._triager.use_model(None)
            log.info("no active triage model; triaging with rules only")
            return True
        self._seen = stored.version
        try:
            model = TriageModel.from_bytes(stored.model)
        except TriageError as exc:
            metrics.TRIAGE_MODEL_LOADS.labels("failed").inc()
            log.error("stored triage model unloadable", version=stored.version, error=str(exc))
            return False
        self._triager.use_model(model)
        metrics.TRIAGE_MODEL_LOADS.labels("loaded").inc()
        log.info("triage model loaded", version=model.version, trained_on=stored.trained_on)
        return True


@dataclass(frozen=True, slots=True)
class TriageDecision:
    """A ticket's triage as its row holds it, and who decided it (for its history)."""

    fields: TicketTriageFields
    actor: Actor


class TicketTriage:
    """The worker's before-write stage for tickets."""

    def __init__(
        self,
        triager: Triager,
        pool: asyncpg.Pool | None = None,
        *,
        pinned: bool = False,
        llm_answers: LlmAnswers | None = None,
    ) -> None:
        self._triager = triager
        self._pool = pool
        self._pinned = pinned  # a model file was configured: no model from PostgreSQL
        # Filled by the triager's LLM hook (llm_classifier) while a batch is triaged.
        self._llm_answers = llm_answers if llm_answers is not None else {}
        for layer in _LAYERS:
            metrics.TRIAGE_DECISIONS.labels(layer)
        for outcome in ("loaded", "failed"):
            metrics.TRIAGE_MODEL_LOADS.labels(outcome)

    @classmethod
    def from_settings(
        cls, settings: Settings, llm: LLMClient | None = None, pool: asyncpg.Pool | None = None
    ) -> TicketTriage:
        answers: LlmAnswers = {}
        return cls(
            Triager(
                load_config(settings.triage_config),
                load_model(settings.triage_model_path),
                llm=llm_classifier(llm, answers) if llm is not None else None,
                llm_timeout_seconds=settings.triage_llm_timeout_seconds,
            ),
            pool,
            pinned=settings.triage_model_path is not None,
            llm_answers=answers,
        )

    def model_watcher(self) -> ModelWatcher | None:
        """What keeps the model current, when the model comes from PostgreSQL (no pinned file,
        a pool given)."""
        if self._pool is None or self._pinned:
            return None
        return ModelWatcher(self._pool, self._triager)

    async def __call__(self, events: Sequence[TicketEvent]) -> list[TicketTriageFields]:
        return [decision.fields for decision in await self.decide(events)]

    async def decide(self, events: Sequence[TicketEvent]) -> list[TriageDecision]:
        """Per event, its ticket's triage and the actor that decided it: ``agent:triage``, with
        the model version when the trained model decided, the LLM's model and prompt version
        when the LLM did."""
        tickets = [ticket_from_payload(e.payload) for e in events]
        self._llm_answers.clear()  # one batch at a time: only this batch's answers
        results = await self._triager.triage_batch_async(tickets)
        owned = await self._owned(events)
        config = self._triager.config
        decisions = []
        for event, decided_by_machine in zip(events, results, strict=True):
            key = (event.payload.source_system, event.payload.external_id)
            result = (
                with_human_fields(decided_by_machine, owned[key], config)
                if key in owned
                else decided_by_machine
            )
            metrics.TRIAGE_DECISIONS.labels(result.layer).inc()
            if result.needs_triage:
                metrics.TRIAGE_ABSTENTIONS.inc()
            decided = result.to_dict()
            triage = TicketTriageFields(
                category=result.category,
                suggested_category=result.suggested_category,
                priority=result.priority,
                team=result.team,
                confidence=result.confidence,
                needs_triage=result.needs_triage,
                layer=result.layer,
                details={k: decided[k] for k in ("explanation", "model_version", "notes")},
                sla_due_at=sla_due_at(event.payload.created_at, result.priority, config.sla),
            )
            decisions.append(TriageDecision(triage, self._actor(key, result)))
        return decisions

    def _actor(self, key: tuple[str, str], result: Triage) -> Actor:
        if result.layer == "llm" and key in self._llm_answers:
            return self._llm_answers[key]
        if result.layer == "model" and result.model_version:
            return Actor(TRIAGE, model=result.model_version)
        return Actor(TRIAGE)

    async def _owned(self, events: Sequence[TicketEvent]) -> dict[tuple[str, str], dict[str, str]]:
        if self._pool is None:
            return {}
        keys = list({(e.payload.source_system, e.payload.external_id) for e in events})
        return await human_owned_fields(self._pool, keys)
