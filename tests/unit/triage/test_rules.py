from __future__ import annotations

from typing import Any

from opsassist.streams.triage import Ticket, Triager, parse_config

_BASE: dict[str, Any] = {
    "sla_hours": {"P1": 1, "P2": 2, "P3": 3, "P4": 4},
    "categories": [
        {"id": "incident", "team": "sre", "priority": "P2"},
        {"id": "billing", "team": "finance", "priority": "P3"},
        {"id": "hr", "team": "people", "priority": "P3"},
    ],
}


def _triager(*rules: dict[str, Any]) -> Triager:
    return Triager(parse_config({**_BASE, "rules": list(rules)}))


def test_keywords_match_whole_words_only() -> None:
    triager = _triager({"name": "typo", "keywords": ["typo"], "priority": "P4"})
    assert triager.triage(Ticket("A typo in the footer")).priority_rule == "typo"
    assert triager.triage(Ticket("Typography is off")).priority_rule is None


def test_a_rule_needs_every_condition_kind_it_lists() -> None:
    triager = _triager(
        {
            "name": "fin-invoice",
            "keywords": ["invoice"],
            "reporter_groups": ["finance"],
            "category": "billing",
        }
    )
    both = Ticket("Invoice total is wrong", reporter_group="Finance")
    only_words = Ticket("Invoice total is wrong", reporter_group="engineering")
    assert triager.triage(both).category == "billing"
    assert triager.triage(only_words).category is None


def test_labels_sources_and_regexes_are_conditions() -> None:
    triager = _triager(
        {"name": "hr-portal", "sources": ["hr-portal"], "category": "hr"},
        {"name": "bug-label", "labels": ["bug"], "category": "incident"},
        {"name": "sev1", "regexes": [r"\bsev[ -]?1\b"], "priority": "P1"},
    )
    assert triager.triage(Ticket("question", source="HR-Portal")).category == "hr"
    assert triager.triage(Ticket("something", labels=("ui", "BUG"))).category == "incident"
    assert triager.triage(Ticket("SEV-1 checkout down")).priority == "P1"


def test_the_first_matching_rule_decides_each_field_on_its_own() -> None:
    triager = _triager(
        {"name": "p1", "keywords": ["down"], "priority": "P1"},
        {"name": "billing", "keywords": ["invoice"], "category": "billing", "priority": "P4"},
        {"name": "route", "keywords": ["invoice"], "team": "finance-oncall"},
    )
    result = triager.triage(Ticket("Invoice service is down"))
    assert result.category == "billing"
    assert result.priority == "P1"  # the earlier rule set it; the billing rule's P4 does not
    assert result.priority_rule == "p1"
    assert result.team == "finance-oncall"
    assert result.explanation.rule == "billing"
    assert result.layer == "rule"


def test_without_a_rule_team_and_priority_follow_the_category() -> None:
    triager = _triager({"name": "billing", "keywords": ["refund"], "category": "billing"})
    result = triager.triage(Ticket("Refund please"))
    assert (result.team, result.priority) == ("finance", "P3")


def test_default_rules_route_typical_help_desk_tickets() -> None:
    from opsassist.streams.triage import load_config

    triager = Triager(load_config())
    assert triager.triage(Ticket("Please grant me access to the staging database")).category == (
        "access_request"
    )
    assert triager.triage(Ticket("My payslip for October is missing")).category == "hr"
    assert triager.triage(Ticket("We were charged twice this month")).category == "billing"
    outage = triager.triage(Ticket("Production down", "site down for everyone"))
    assert (outage.category, outage.priority) == ("incident", "P1")
