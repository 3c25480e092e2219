"""The rule layer: configured keywords, regexes, labels, sources and reporter groups."""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsassist.streams.triage._config import Rule
from opsassist.streams.triage._ticket import Ticket


@dataclass(frozen=True, slots=True)
class RuleDecision:
    """What the rules decided for each field, and which rule decided it."""

    category: Rule | None
    priority: Rule | None
    team: Rule | None


class _CompiledRule:
    __slots__ = ("keyword_pattern", "rule")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        # One alternation per rule: a single scan of the text, whole words/phrases only.
        self.keyword_pattern = (
            re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(k) for k in rule.keywords) + r")(?!\w)",
                re.IGNORECASE,
            )
            if rule.keywords
            else None
        )

    def matches(self, ticket: Ticket, text: str) -> bool:
        rule = self.rule
        if self.keyword_pattern is not None and not self.keyword_pattern.search(text):
            return False
        if rule.regexes and not any(r.search(text) for r in rule.regexes):
            return False
        if rule.labels and not rule.labels.intersection(label.lower() for label in ticket.labels):
            return False
        if rule.sources and ticket.source.lower() not in rule.sources:
            return False
        return not (
            rule.reporter_groups and ticket.reporter_group.lower() not in rule.reporter_groups
        )


class RuleEngine:
    """Evaluates the rules in their configured order; the first match per field wins."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self._rules = tuple(_CompiledRule(r) for r in rules)

    def decide(self, ticket: Ticket) -> RuleDecision:
        text = f"{ticket.title}\n{ticket.body}"
        category: Rule | None = None
        priority: Rule | None = None
        team: Rule | None = None
        for compiled in self._rules:
            rule = compiled.rule
            wanted = (
                (category is None and rule.category is not None)
                or (priority is None and rule.priority is not None)
                or (team is None and rule.team is not None)
            )
            if not wanted or not compiled.matches(ticket, text):
                continue
            if category is None and rule.category is not None:
                category = rule
            if priority is None and rule.priority is not None:
                priority = rule
            if team is None and rule.team is not None:
                team = rule
        return RuleDecision(category=category, priority=priority, team=team)
