"""Which group a parsed commit lands in, or why it is left out (configuration rules)."""

from __future__ import annotations

from dataclasses import dataclass

from opsassist.streams.changelog._config import ChangelogConfig, Rule
from opsassist.streams.changelog._model import Entry, ParsedCommit


@dataclass(frozen=True, slots=True)
class Placement:
    """A group key, or None with the reason the commit is not in the text."""

    group: str | None
    reason: str | None = None


def _matches(rule: Rule, commit: ParsedCommit) -> bool:
    if rule.conventional is not None and rule.conventional != commit.conventional:
        return False
    if rule.type is not None and not rule.type.search(commit.type):
        return False
    if rule.scope is not None and not rule.scope.search(commit.scope or ""):
        return False
    if rule.message is not None and not rule.message.search(commit.header):
        return False
    return rule.body is None or bool(rule.body.search(commit.body))


def _describe(rule: Rule) -> str:
    fields = (
        ("type", rule.type),
        ("scope", rule.scope),
        ("message", rule.message),
        ("body", rule.body),
    )
    return ", ".join(f"{name} ~ {pattern.pattern}" for name, pattern in fields if pattern)


def _fallback_group(commit: ParsedCommit, config: ChangelogConfig) -> str:
    """Somewhere to show a breaking change that every rule would skip."""
    keys = [g.key for g in config.groups]
    if config.default_group:
        return config.default_group
    return commit.type if commit.type in keys else keys[0]


def _excluded_kind(commit: ParsedCommit, config: ChangelogConfig) -> str | None:
    if commit.merge and config.merge_commits == "skip":
        return "merge commit"
    if not commit.conventional and config.unconventional == "skip":
        return "not a conventional commit"
    return None


def place_commit(commit: ParsedCommit, config: ChangelogConfig) -> Placement:
    """Apply the configuration. Breaking changes are never skipped: a skip rule, a merge or a
    non-conventional header only moves them on to the next rule that names a group."""
    breaking = commit.breaking
    excluded = None if breaking else _excluded_kind(commit, config)
    if excluded:
        return Placement(None, excluded)
    if breaking and config.breaking_group:
        return Placement(config.breaking_group)
    for index, rule in enumerate(config.parsers):
        if not _matches(rule, commit):
            continue
        if rule.group is not None:
            return Placement(rule.group)
        if not breaking:
            return Placement(None, f"skipped by parsers[{index}] ({_describe(rule)})")
    if config.default_group or breaking:
        return Placement(_fallback_group(commit, config))
    return Placement(None, "no parser matched")


def entry_for(commit: ParsedCommit) -> Entry:
    return Entry(
        commit=commit.sha,
        text=commit.description,
        type=commit.type,
        scope=commit.scope,
        breaking=commit.breaking,
        conventional=commit.conventional,
        pull_request=commit.pull_request,
        issues=commit.issues,
        breaking_note=(
            commit.breaking_description
            if commit.breaking_description and commit.breaking_description != commit.description
            else None
        ),
    )
