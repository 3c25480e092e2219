"""Commits → releases: which release each commit belongs to, its groups, and the implied bump.

A commit belongs to the oldest release tag that can reach it through its parents, exactly as
``git log <previous tag>..<tag>`` would put it; commits no release tag reaches are Unreleased.
This needs only the commits themselves (hash, parents, tags), so the same function serves the
CLI on a git repository and the pipeline on the commits stored for a repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from opsassist.streams.changelog._classify import entry_for, place_commit
from opsassist.streams.changelog._config import ChangelogConfig
from opsassist.streams.changelog._model import (
    CommitRecord,
    Entry,
    Group,
    ParsedCommit,
    Release,
    Skipped,
)
from opsassist.streams.changelog._parser import parse_commit
from opsassist.streams.changelog._versions import (
    Version,
    implied_bump,
    parse_version,
    version_order,
)

_UNRELEASED = ""
_NEVER = datetime.min.replace(tzinfo=UTC)


def _release_tag(record: CommitRecord, config: ChangelogConfig) -> str | None:
    """The tag that makes this commit a release, the highest version when there are several."""
    tags = [
        t
        for t in record.tags
        if config.tag_pattern.search(t)
        and not (config.ignore_tags and config.ignore_tags.search(t))
    ]
    if not tags:
        return None
    return max(tags, key=lambda t: (version_order(t), t))


def _when(record: CommitRecord) -> datetime | None:
    when = record.committed_at or record.authored_at
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)  # naive times are taken as UTC, as git stores them
    return when


def assign_releases(
    records: Sequence[CommitRecord],
    config: ChangelogConfig,
    generation: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """Commit sha → release tag ("" for Unreleased). A commit's own ``release`` wins."""
    generation = generation if generation is not None else _generations(records)
    by_sha = {r.sha: r for r in records}
    assigned = {r.sha: r.release for r in records if r.release is not None}
    tagged = [(i, r, tag) for i, r in enumerate(records) if (tag := _release_tag(r, config))]
    # Oldest tag first, so each tag claims only what no earlier tag reaches.
    # Ancestry first (a tag behind another is older whatever the clocks say), then time.
    tagged.sort(key=lambda item: (generation[item[1].sha], _when(item[1]) or _NEVER))
    for _, record, tag in tagged:
        stack = [record.sha]
        while stack:
            sha = stack.pop()
            if sha in assigned or sha not in by_sha:
                continue
            assigned[sha] = tag
            stack.extend(by_sha[sha].parents)
    return {r.sha: assigned.get(r.sha, _UNRELEASED) for r in records}


def _generations(records: Sequence[CommitRecord]) -> dict[str, int]:
    """Sha → 1 + the longest chain of known ancestors behind it (iterative: histories are deep)."""
    parents = {r.sha: list(r.parents) for r in records}
    generation: dict[str, int] = {}
    visiting: set[str] = set()  # a malformed log with a parent cycle must not loop forever
    for record in records:
        stack = [record.sha]
        while stack:
            sha = stack[-1]
            if sha in generation:
                stack.pop()
                continue
            visiting.add(sha)
            pending = [
                p
                for p in parents[sha]
                if p in parents and p not in generation and p not in visiting
            ]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            generation[sha] = 1 + max(
                (generation.get(p, 0) for p in parents[sha] if p in parents), default=0
            )
    return generation


def _sorted_entries(entries: list[tuple[int, Entry]], config: ChangelogConfig) -> tuple[Entry, ...]:
    # entries arrive newest first (index 0 = newest); keep that as the tie-breaker.
    if config.sort == "oldest":
        entries = entries[::-1]
    elif config.sort == "scope":
        entries = sorted(entries, key=lambda e: (e[1].scope is None, e[1].scope or ""))
    return tuple(entry for _, entry in entries)


def _release(
    tag: str | None,
    records: list[CommitRecord],
    parsed: dict[str, ParsedCommit],
    previous: Version | None,
    config: ChangelogConfig,
) -> Release:
    by_group: dict[str, list[tuple[int, Entry]]] = {}
    skipped: list[Skipped] = []
    for index, record in enumerate(records):
        commit = parsed[record.sha]
        placement = place_commit(commit, config)
        if placement.group is None:
            skipped.append(Skipped(record.sha, placement.reason or "skipped"))
        else:
            by_group.setdefault(placement.group, []).append((index, entry_for(commit)))
    groups = tuple(
        Group(spec.key, spec.title, _sorted_entries(by_group[spec.key], config))
        for spec in config.groups
        if spec.key in by_group
    )
    version = parse_version(tag) if tag else None
    base = previous or version
    bump = implied_bump(
        (parsed[r.sha] for r in records), base, config.pre_1_0_breaking, config.pre_1_0_feat
    )
    dates = [d for r in records if (d := _when(r)) is not None]
    return Release(
        tag=tag,
        version=str(version) if version else tag,
        date=max(dates) if dates and tag else None,
        bump=bump,
        previous_version=str(previous) if previous else None,
        groups=groups,
        skipped=tuple(skipped),
        commits=tuple(r.sha for r in records),
        next_version=str(previous.bumped(bump)) if tag is None and previous else None,
    )


def build_changelog(commits: Iterable[CommitRecord], config: ChangelogConfig) -> list[Release]:
    """Every release of these commits, newest first, Unreleased (if any commit) at the top.

    Deterministic: the same commits (in any order) give equal releases, so a caller can store
    the result and diff it against a regeneration when late commits arrive.
    """
    # At-least-once delivery may hand us a commit twice; it is one commit.
    unique: dict[str, CommitRecord] = {}
    for commit in commits:
        unique.setdefault(commit.sha, commit)
    records = list(unique.values())
    generation = _generations(records)
    # Newest first by commit time; commits of the same second by ancestry (a child is newer),
    # then by input order.
    order = sorted(
        range(len(records)),
        key=lambda i: (_when(records[i]) or _NEVER, generation[records[i].sha], -i),
        reverse=True,
    )
    records = [records[i] for i in order]
    parsed = {r.sha: parse_commit(r.sha, r.message, r.parents) for r in records}
    release_of = assign_releases(records, config, generation)
    members: dict[str, list[CommitRecord]] = {}
    for record in records:
        members.setdefault(release_of[record.sha], []).append(record)

    def release_key(tag: str) -> tuple[tuple[bool, Version], datetime]:
        dates = [d for r in members[tag] if (d := _when(r)) is not None]
        return (version_order(tag), max(dates, default=_NEVER))

    tags = sorted((t for t in members if t != _UNRELEASED), key=release_key)
    releases: list[Release] = []
    previous: Version | None = None
    for tag in tags:
        releases.append(_release(tag, members[tag], parsed, previous, config))
        previous = parse_version(tag) or previous
    if _UNRELEASED in members:
        releases.append(_release(None, members[_UNRELEASED], parsed, previous, config))
    return releases[::-1]


def changed_releases(stored: Sequence[Release], fresh: Sequence[Release]) -> list[Release]:
    """The releases of ``fresh`` that are new or differ from ``stored`` (matched by tag,
    Unreleased by None): what to write after regenerating because late commits arrived."""
    before = {r.tag: r for r in stored}
    return [r for r in fresh if before.get(r.tag) != r]
