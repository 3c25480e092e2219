"""The triage configuration: taxonomy, rules, abstention thresholds and SLA, from a TOML file.

The package ships ``default_config.toml``; a deployment points ``OPSASSIST_TRIAGE_CONFIG`` at its
own file with the same shape. Everything is validated at load time so that a bad file fails
when the worker starts, not on the first ticket that reaches the bad rule.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from opsassist.streams.triage._ticket import PRIORITIES
from opsassist.streams.triage.errors import InvalidTriageConfig

_RULE_CONDITIONS = ("keywords", "regexes", "labels", "sources", "reporter_groups")


@dataclass(frozen=True, slots=True)
class Category:
    """One class of the taxonomy, with where it routes by default and when triage abstains."""

    id: str
    name: str
    team: str
    priority: str
    threshold: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """A configured rule. It matches when every condition kind it lists matches (each kind
    matches when any of its values does); it may set category, priority and/or team."""

    name: str
    keywords: tuple[str, ...] = ()
    regexes: tuple[re.Pattern[str], ...] = ()
    labels: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    reporter_groups: frozenset[str] = frozenset()
    category: str | None = None
    priority: str | None = None
    team: str | None = None
    confidence: float = 0.95


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Time to resolve, per priority."""

    resolve_within: dict[str, timedelta]

    def due_in(self, priority: str) -> timedelta:
        return self.resolve_within[priority]


@dataclass(frozen=True, slots=True)
class TriageConfig:
    categories: tuple[Category, ...]
    rules: tuple[Rule, ...]
    sla: SlaPolicy
    default_priority: str
    triage_queue: str

    def category(self, category_id: str) -> Category:
        for category in self.categories:
            if category.id == category_id:
                return category
        raise KeyError(category_id)

    @property
    def category_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.categories)

    def normalize_label(self, label: str) -> str | None:
        """The taxonomy id a raw label means (its id or one of its aliases), or ``None``."""
        wanted = label.strip().lower()
        for category in self.categories:
            if wanted == category.id or wanted in category.aliases:
                return category.id
        return None


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidTriageConfig(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(value)


def _priority(value: Any, where: str) -> str:
    if value not in PRIORITIES:
        raise InvalidTriageConfig(f"{where}: priority {value!r} is not one of {PRIORITIES}")
    return str(value)


def _threshold(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise InvalidTriageConfig(f"{where}: threshold/confidence {value!r} must be in [0, 1]")
    return float(value)


def _category(entry: dict[str, Any], default_threshold: float) -> Category:
    where = f"category {entry.get('id', '?')!r}"
    if not isinstance(entry.get("id"), str) or not entry["id"]:
        raise InvalidTriageConfig("every [[categories]] entry needs an 'id'")
    if not isinstance(entry.get("team"), str) or not entry["team"]:
        raise InvalidTriageConfig(f"{where}: needs a 'team'")
    return Category(
        id=entry["id"],
        name=str(entry.get("name", entry["id"])),
        team=entry["team"],
        priority=_priority(entry.get("priority"), where),
        threshold=_threshold(entry.get("threshold", default_threshold), where),
        aliases=tuple(a.lower() for a in _strings(entry, "aliases", where)),
    )


def _rule(entry: dict[str, Any], category_ids: set[str]) -> Rule:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidTriageConfig("every [[rules]] entry needs a 'name'")
    where = f"rule {name!r}"
    if not any(entry.get(kind) for kind in _RULE_CONDITIONS):
        raise InvalidTriageConfig(f"{where}: needs at least one of {_RULE_CONDITIONS}")
    category = entry.get("category")
    if category is not None and category not in category_ids:
        raise InvalidTriageConfig(f"{where}: unknown category {category!r}")
    priority = entry.get("priority")
    if priority is not None:
        _priority(priority, where)
    if category is None and priority is None and entry.get("team") is None:
        raise InvalidTriageConfig(f"{where}: sets none of category, priority, team")
    try:
        regexes = tuple(re.compile(r, re.IGNORECASE) for r in _strings(entry, "regexes", where))
    except re.error as exc:
        raise InvalidTriageConfig(f"{where}: bad regex: {exc}") from None
    return Rule(
        name=name,
        keywords=tuple(k.lower() for k in _strings(entry, "keywords", where)),
        regexes=regexes,
        labels=frozenset(v.lower() for v in _strings(entry, "labels", where)),
        sources=frozenset(v.lower() for v in _strings(entry, "sources", where)),
        reporter_groups=frozenset(v.lower() for v in _strings(entry, "reporter_groups", where)),
        category=category,
        priority=priority,
        team=entry.get("team"),
        confidence=_threshold(entry.get("confidence", 0.95), where),
    )


def parse_config(data: dict[str, Any]) -> TriageConfig:
    """Validate a parsed TOML document into a :class:`TriageConfig`."""
    defaults = data.get("defaults", {})
    default_threshold = _threshold(defaults.get("threshold", 0.5), "[defaults]")
    categories = tuple(_category(c, default_threshold) for c in data.get("categories", []))
    if len(categories) < 2:
        raise InvalidTriageConfig("the taxonomy needs at least two [[categories]]")
    ids = [c.id for c in categories]
    if len(set(ids)) != len(ids):
        raise InvalidTriageConfig(f"duplicate category ids in {ids}")
    sla_hours = data.get("sla_hours", {})
    missing = [p for p in PRIORITIES if p not in sla_hours]
    if missing:
        raise InvalidTriageConfig(f"[sla_hours] misses {missing}")
    sla = SlaPolicy({p: timedelta(hours=float(sla_hours[p])) for p in PRIORITIES})
    return TriageConfig(
        categories=categories,
        rules=tuple(_rule(r, set(ids)) for r in data.get("rules", [])),
        sla=sla,
        default_priority=_priority(defaults.get("priority", "P3"), "[defaults]"),
        triage_queue=str(defaults.get("triage_queue", "triage")),
    )


def load_config(path: Path | None = None) -> TriageConfig:
    """The configuration in ``path``, or the packaged default when ``path`` is ``None``."""
    try:
        if path is None:
            text = (
                resources.files("opsassist.streams.triage")
                .joinpath("default_config.toml")
                .read_text()
            )
        else:
            text = path.read_text()
        return parse_config(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidTriageConfig(f"{path or 'default_config.toml'}: {exc}") from None
