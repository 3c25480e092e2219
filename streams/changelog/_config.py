"""The changelog configuration: TOML, laid over the shipped ``default.toml``.

It covers what users of git-cliff (``commit_parsers``, ``filter_unconventional``, tag patterns,
link templates) and release-please (``changelog-sections`` with hidden types, pre-1.0 bumps)
set, in one small format documented in ``docs/changelog.md``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from opsassist.streams.changelog._model import Bump, InvalidConfig

_RULE_FIELDS = ("type", "scope", "message", "body")


@dataclass(frozen=True, slots=True)
class Rule:
    """Pattern → group or skip. Every given pattern must match (``re.search``)."""

    type: re.Pattern[str] | None = None
    scope: re.Pattern[str] | None = None
    message: re.Pattern[str] | None = None
    body: re.Pattern[str] | None = None
    conventional: bool | None = None
    group: str | None = None
    skip: bool = False


@dataclass(frozen=True, slots=True)
class GroupSpec:
    key: str
    title: str


@dataclass(frozen=True, slots=True)
class LinkPatterns:
    commit: str
    pull_request: str
    issue: str
    compare: str


@dataclass(frozen=True, slots=True)
class ChangelogConfig:
    repository_url: str
    show_scopes: bool
    sort: Literal["scope", "newest", "oldest"]
    unconventional: Literal["classify", "skip"]
    mark_unconventional: bool
    merge_commits: Literal["skip", "include"]
    breaking_group: str
    default_group: str
    unreleased_title: str
    tag_pattern: re.Pattern[str]
    ignore_tags: re.Pattern[str] | None
    pre_1_0_breaking: Bump
    pre_1_0_feat: Bump
    links: LinkPatterns
    groups: tuple[GroupSpec, ...]
    parsers: tuple[Rule, ...]

    def title_of(self, key: str) -> str:
        for group in self.groups:
            if group.key == key:
                return group.title
        return key


def _regex(value: object, where: str) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise InvalidConfig(f"{where} must be a string (a regex)")
    try:
        return re.compile(value)
    except re.error as exc:
        raise InvalidConfig(f"{where} is not a valid regex: {exc}") from None


def _choice(table: dict[str, Any], key: str, allowed: tuple[str, ...], where: str) -> Any:
    value = table[key]
    if value not in allowed:
        raise InvalidConfig(f"{where}.{key} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _string(table: dict[str, Any], key: str, where: str) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise InvalidConfig(f"{where}.{key} must be a string")
    return value


def _rule(raw: object, index: int) -> Rule:
    where = f"parsers[{index}]"
    if not isinstance(raw, dict):
        raise InvalidConfig(f"{where} must be a table")
    unknown = set(raw) - {*_RULE_FIELDS, "conventional", "group", "skip"}
    if unknown:
        raise InvalidConfig(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    patterns = {f: _regex(raw[f], f"{where}.{f}") for f in _RULE_FIELDS if f in raw}
    if not patterns and "conventional" not in raw:
        raise InvalidConfig(f"{where} matches nothing: give type, scope, message or body")
    skip = raw.get("skip", False)
    group = raw.get("group")
    if not isinstance(skip, bool) or (group is not None and not isinstance(group, str)):
        raise InvalidConfig(f"{where}: skip must be true/false and group a string")
    if skip == (group is not None):
        raise InvalidConfig(f'{where} needs exactly one of group = "..." or skip = true')
    conventional = raw.get("conventional")
    if conventional is not None and not isinstance(conventional, bool):
        raise InvalidConfig(f"{where}.conventional must be true or false")
    return Rule(**patterns, conventional=conventional, group=group, skip=skip)


def _group(raw: object, index: int) -> GroupSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
        raise InvalidConfig(f"groups[{index}] must be a table with a string key")
    title = raw.get("title", raw["key"])
    if not isinstance(title, str):
        raise InvalidConfig(f"groups[{index}].title must be a string")
    return GroupSpec(raw["key"], title)


def _bump(table: dict[str, Any], key: str) -> Bump:
    value = _choice(table, key, ("major", "minor", "patch"), "versions")
    return Bump[str(value).upper()]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            unknown = set(value) - set(merged[key])
            if unknown:
                raise InvalidConfig(f"[{key}] has unknown keys: {', '.join(sorted(unknown))}")
            merged[key] = {**merged[key], **value}
        elif key in merged:
            merged[key] = value
        else:
            raise InvalidConfig(f"unknown top-level key {key!r}")
    return merged


def _build(data: dict[str, Any]) -> ChangelogConfig:
    log, versions, links = data["changelog"], data["versions"], data["links"]
    groups = tuple(_group(raw, i) for i, raw in enumerate(data["groups"]))
    parsers = tuple(_rule(raw, i) for i, raw in enumerate(data["parsers"]))
    if not groups:
        raise InvalidConfig("[[groups]] is empty: a changelog needs at least one group")
    keys = {g.key for g in groups}
    for name in ("breaking_group", "default_group"):
        if log[name] and log[name] not in keys:
            raise InvalidConfig(f"changelog.{name} = {log[name]!r} is not a key in [[groups]]")
    for index, rule in enumerate(parsers):
        if rule.group is not None and rule.group not in keys:
            raise InvalidConfig(f"parsers[{index}].group = {rule.group!r} is not in [[groups]]")
    ignore = _string(versions, "ignore_tags", "versions")
    return ChangelogConfig(
        repository_url=_string(log, "repository_url", "changelog").rstrip("/"),
        show_scopes=bool(log["show_scopes"]),
        sort=_choice(log, "sort", ("scope", "newest", "oldest"), "changelog"),
        unconventional=_choice(log, "unconventional", ("classify", "skip"), "changelog"),
        mark_unconventional=bool(log["mark_unconventional"]),
        merge_commits=_choice(log, "merge_commits", ("skip", "include"), "changelog"),
        breaking_group=_string(log, "breaking_group", "changelog"),
        default_group=_string(log, "default_group", "changelog"),
        unreleased_title=_string(log, "unreleased_title", "changelog"),
        tag_pattern=_regex(versions["tag_pattern"], "versions.tag_pattern"),
        ignore_tags=_regex(ignore, "versions.ignore_tags") if ignore else None,
        pre_1_0_breaking=_bump(versions, "pre_1_0_breaking"),
        pre_1_0_feat=_bump(versions, "pre_1_0_feat"),
        links=LinkPatterns(**{k: _string(links, k, "links") for k in LinkPatterns.__slots__}),
        groups=groups,
        parsers=parsers,
    )


def _default_data() -> dict[str, Any]:
    text = (
        resources.files("opsassist.streams.changelog").joinpath("default.toml").read_text("utf-8")
    )
    return tomllib.loads(text)


def config_from_toml(text: str, repository_url: str | None = None) -> ChangelogConfig:
    """A configuration from TOML text laid over the default; ``repository_url`` overrides."""
    try:
        override = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidConfig(f"not valid TOML: {exc}") from None
    data = _merge(_default_data(), override)
    if repository_url is not None:
        data["changelog"] = {**data["changelog"], "repository_url": repository_url}
    return _build(data)


def load_config(path: Path | None = None, repository_url: str | None = None) -> ChangelogConfig:
    """The configuration in ``path`` over the default, or the default alone."""
    text = ""
    if path is not None:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise InvalidConfig(f"cannot read {path}: {exc.strerror}") from None
    return config_from_toml(text, repository_url)


def default_config() -> ChangelogConfig:
    return config_from_toml("")
