"""The triage stage: rules, then the learned model, then (optionally) an LLM, then abstention."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from opsassist.streams.triage._config import Category, TriageConfig
from opsassist.streams.triage._model import Prediction, TriageModel
from opsassist.streams.triage._rules import RuleDecision, RuleEngine
from opsassist.streams.triage._ticket import Explanation, Layer, Ticket, Triage


@dataclass(frozen=True, slots=True)
class LlmVerdict:
    """What the LLM layer answers for a ticket triage was not sure about."""

    category: str
    confidence: float
    reason: str


#: The LLM hook: given a ticket (already redacted by the caller) and the taxonomy, a verdict, or
#: ``None`` when it has no opinion. Built by the LLM layer; triage works without it.
LlmClassifier = Callable[[Ticket, Sequence[Category]], Awaitable[LlmVerdict | None]]


def _model_summary(prediction: Prediction, version: str) -> str:
    words = ", ".join(f"{t.term} ({t.weight:.2f})" for t in prediction.terms) or "none"
    return (
        f"model {version}: {prediction.label} at {prediction.confidence:.2f}; "
        f"words that weighed most: {words}"
    )


class Triager:
    """Triages tickets with a configuration, an optional model and an optional LLM hook.

    :meth:`use_model` swaps the model in place (one attribute assignment, atomic under the GIL):
    a worker loads a new version from bytes without restarting, and a batch in flight finishes
    with the model it started with.
    """

    def __init__(
        self,
        config: TriageConfig,
        model: TriageModel | None = None,
        llm: LlmClassifier | None = None,
        llm_timeout_seconds: float = 30.0,
    ) -> None:
        self.config = config
        self._rules = RuleEngine(config.rules)
        self._model = model
        self._llm = llm
        self._llm_timeout = llm_timeout_seconds

    @property
    def model(self) -> TriageModel | None:
        return self._model

    def use_model(self, model: TriageModel | None) -> None:
        self._model = model

    def triage(self, ticket: Ticket) -> Triage:
        return self.triage_batch([ticket])[0]

    def triage_batch(self, tickets: Sequence[Ticket]) -> list[Triage]:
        """Rules and model only; the model runs once on the tickets no rule categorized."""
        model = self._model  # one model for the whole batch, even if swapped meanwhile
        decisions = [self._rules.decide(t) for t in tickets]
        undecided = [i for i, d in enumerate(decisions) if d.category is None]
        predictions: dict[int, Prediction] = {}
        if model is not None and undecided:
            found = model.predict([tickets[i] for i in undecided])
            predictions = dict(zip(undecided, found, strict=True))
        return [
            self._decide(ticket, decision, predictions.get(i), model)
            for i, (ticket, decision) in enumerate(zip(tickets, decisions, strict=True))
        ]

    async def triage_batch_async(self, tickets: Sequence[Ticket]) -> list[Triage]:
        """:meth:`triage_batch`, then the LLM (if configured) on the tickets triage abstained
        on, concurrently. An LLM failure leaves the ticket abstained, with a note."""
        results = self.triage_batch(tickets)
        if self._llm is None:
            return results
        pending = [i for i, r in enumerate(results) if r.needs_triage]
        verdicts = await asyncio.gather(
            *(self._ask_llm(tickets[i]) for i in pending), return_exceptions=True
        )
        for i, verdict in zip(pending, verdicts, strict=True):
            results[i] = self._with_llm(tickets[i], results[i], verdict)
        return results

    async def _ask_llm(self, ticket: Ticket) -> LlmVerdict | None:
        assert self._llm is not None
        async with asyncio.timeout(self._llm_timeout):
            return await self._llm(ticket, self.config.categories)

    def _with_llm(
        self, ticket: Ticket, current: Triage, verdict: LlmVerdict | BaseException | None
    ) -> Triage:
        if isinstance(verdict, BaseException):
            note = f"llm failed: {type(verdict).__name__}: {verdict}"
            return replace(current, notes=(*current.notes, note))
        if verdict is None:
            return replace(current, notes=(*current.notes, "llm gave no verdict"))
        category = self.config.normalize_label(verdict.category)
        if category is None:
            note = f"llm answered unknown category {verdict.category!r}"
            return replace(current, notes=(*current.notes, note))
        decision = self._rules.decide(ticket)
        explanation = Explanation(summary=f"LLM: {verdict.reason}")
        return self._result(
            ticket,
            decision,
            category,
            confidence=verdict.confidence,
            layer="llm",
            explanation=explanation,
            model_version=current.model_version,
        )

    def _decide(
        self,
        ticket: Ticket,
        decision: RuleDecision,
        prediction: Prediction | None,
        model: TriageModel | None,
    ) -> Triage:
        version = model.version if model is not None else None
        if decision.category is not None:
            rule = decision.category
            explanation = Explanation(summary=f"rule {rule.name!r} matched", rule=rule.name)
            return self._result(
                ticket,
                decision,
                rule.category,
                confidence=rule.confidence,
                layer="rule",
                explanation=explanation,
                model_version=version,
            )
        if prediction is not None and model is not None:
            category = self.config.normalize_label(prediction.label)
            explanation = Explanation(
                summary=_model_summary(prediction, model.version), terms=prediction.terms
            )
            return self._result(
                ticket,
                decision,
                category,
                confidence=prediction.confidence,
                layer="model",
                explanation=explanation,
                model_version=version,
            )
        explanation = Explanation(summary="no rule matched and no model is loaded")
        return self._result(
            ticket,
            decision,
            None,
            confidence=0.0,
            layer="none",
            explanation=explanation,
            model_version=version,
        )

    def _result(
        self,
        ticket: Ticket,
        decision: RuleDecision,
        category_id: str | None,
        *,
        confidence: float,
        layer: Layer,
        explanation: Explanation,
        model_version: str | None,
    ) -> Triage:
        category = self.config.category(category_id) if category_id is not None else None
        accepted = category is not None and confidence >= category.threshold
        if category is not None and not accepted:
            explanation = replace(
                explanation,
                summary=f"abstained: {category.id} at {confidence:.2f} is below its threshold "
                f"{category.threshold:.2f}; {explanation.summary}",
            )
        routed = category if accepted else None
        priority_rule, team_rule = decision.priority, decision.team
        priority = (
            priority_rule.priority
            if priority_rule is not None and priority_rule.priority is not None
            else (routed.priority if routed is not None else self.config.default_priority)
        )
        team = (
            team_rule.team
            if team_rule is not None and team_rule.team is not None
            else (routed.team if routed is not None else self.config.triage_queue)
        )
        return Triage(
            category=routed.id if routed is not None else None,
            suggested_category=category.id if category is not None else None,
            priority=priority,
            team=team,
            confidence=confidence,
            needs_triage=not accepted,
            layer=layer if accepted else "none",
            explanation=explanation,
            model_version=model_version,
            ticket_id=ticket.id,
            priority_rule=priority_rule.name if priority_rule is not None else None,
            team_rule=team_rule.name if team_rule is not None else None,
        )
