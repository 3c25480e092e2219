"""What triage reads (a ticket's text and routing facts) and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from opsassist.schemas import TicketPayloadV2

PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")

#: Who decided the category: a configured rule, the learned model, the LLM, a person
#: (a correction), or nobody (abstained).
Layer = Literal["rule", "model", "llm", "human", "none"]


@dataclass(frozen=True, slots=True)
class Ticket:
    """The parts of a ticket that triage looks at. ``source`` is the system or channel it came
    from (e.g. ``email``, ``jira``); ``reporter_group`` is the reporter's group (e.g.
    ``finance``), never the reporter's identity."""

    title: str
    body: str = ""
    labels: tuple[str, ...] = ()
    source: str = ""
    reporter_group: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class WeightedTerm:
    """A word of the ticket and how much it pushed the model towards the chosen class."""

    term: str
    weight: float


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why triage decided as it did: the rule that fired, or the words that weighed most."""

    summary: str
    rule: str | None = None
    terms: tuple[WeightedTerm, ...] = ()


@dataclass(frozen=True, slots=True)
class Triage:
    """The triage of one ticket.

    ``category`` is ``None`` when triage abstained (``needs_triage``); ``suggested_category`` is
    then the best guess below its class threshold. ``priority`` and ``team`` are always set: on
    abstention they come from rules or the configured defaults (the team is the triage queue).
    """

    category: str | None
    suggested_category: str | None
    priority: str
    team: str
    confidence: float
    needs_triage: bool
    layer: Layer
    explanation: Explanation
    model_version: str | None = None
    ticket_id: str = ""
    priority_rule: str | None = None
    team_rule: str | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the CLI's output and what the lead stores)."""
        return {
            "ticket_id": self.ticket_id,
            "category": self.category,
            "suggested_category": self.suggested_category,
            "priority": self.priority,
            "team": self.team,
            "confidence": round(self.confidence, 4),
            "needs_triage": self.needs_triage,
            "layer": self.layer,
            "model_version": self.model_version,
            "explanation": {
                "summary": self.explanation.summary,
                "rule": self.explanation.rule,
                "terms": [
                    {"term": t.term, "weight": round(t.weight, 4)} for t in self.explanation.terms
                ],
                "priority_rule": self.priority_rule,
                "team_rule": self.team_rule,
            },
            "notes": list(self.notes),
        }


def ticket_from_payload(payload: TicketPayloadV2, reporter_group: str = "") -> Ticket:
    """The triage view of a ticket event's payload. The reporter's identity stays out: rules
    route on the reporter's group, which the caller looks up."""
    return Ticket(
        title=payload.title,
        body=payload.body,
        labels=tuple(payload.labels),
        source=payload.source_system,
        reporter_group=reporter_group,
        id=payload.external_id,
    )
