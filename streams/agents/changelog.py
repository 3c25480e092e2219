"""Keeps each repository's stored changelog in step with its commits.

After the commits of a batch are durable, the worker calls :class:`ChangelogUpdater` with them.
For every repository they touch it reads all of the repository's stored commits, rebuilds the
changelog with the changelog stage (``opsassist.streams.changelog``), and writes only the
releases whose content changed; a release no commit makes any more is marked absent. A late
commit, or a tag pushed after its commits, so changes exactly the releases it belongs to, and
each change is a new version in ``changelog_release_changes``.

When an LLM is configured for the task ``changelog_polish``, a changed release's entries are
offered to it for rewording; the rewording is kept only if
``opsassist.streams.changelog.check_rewording`` accepts it (every commit exactly one entry,
nothing dropped or invented), else the deterministic text stands. Changes are detected on the
deterministic content, so an unchanged release is never sent again; the provenance (prompt,
model, tokens, cost) is stored beside the release.

Rebuilding from all stored commits, not patching, is what makes it correct under at-least-once
delivery and any arrival order: the result depends only on the set of commits (the stage is
deterministic), so a batch handled twice writes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
import structlog
from pydantic import BaseModel

from opsassist.llm import LLMClient
from opsassist.schemas import CommitEvent
from opsassist.store.changelog import (
    UNRELEASED,
    StoredRelease,
    lock_repository,
    repository_commits,
    save_releases,
    stored_contents,
)
from opsassist.store.history import Actor, set_actor
from opsassist.streams.agents.actors import llm_actor
from opsassist.streams.changelog import (
    ChangelogConfig,
    ChangelogError,
    Entry,
    InvalidRewording,
    Release,
    Rewording,
    build_changelog,
    commit_from_mapping,
    polish_release,
    releases_to_json,
    render_markdown,
)

log = structlog.get_logger(__name__)


def _section(release: Release, config: ChangelogConfig) -> str:
    """The release's own part of the Markdown (without the document title)."""
    text = render_markdown([release], config)
    return text.removeprefix("# Changelog\n\n")


def _canonical(content: object) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


POLISH_TASK = "changelog_polish"


class PolishedTexts(BaseModel):
    """The LLM's answer: one text per entry, in the order given."""

    texts: list[str]


class _NotPolishedError(RuntimeError):
    """The LLM layer answered deterministically (not configured, budget, refusal, ...)."""


class ChangelogUpdater:
    """Regenerates the stored changelogs of the repositories a batch of commits touches."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        config: ChangelogConfig,
        llm: LLMClient | None = None,
        changed_by: str = "agent:changelog",
    ) -> None:
        self._pool = pool
        self._config = config
        self._llm = llm if llm is not None and llm.configured(POLISH_TASK) else None
        self._changed_by = changed_by
        self._actor = Actor(changed_by)  # refuses a name that is not '<kind>:<name>' up front

    async def _polish(
        self, repo: str, release: Release
    ) -> tuple[Release, dict[str, Any] | None, Actor | None]:
        """The release reworded by the LLM if the check accepts it, what happened, and the
        actor (the LLM's model and prompt) when the rewording was kept."""
        if self._llm is None or not release.entries:
            return release, None, None
        llm = self._llm
        provenance: dict[str, Any] = {}
        reworded_by: list[Actor] = []

        async def propose(entries: Sequence[Entry]) -> list[Rewording]:
            items = [
                {"commit": e.commit, "type": e.type, "scope": e.scope, "breaking": e.breaking,
                 "text": e.text}
                for e in entries
            ]  # fmt: skip
            inputs = {"repo": repo, "release": release.version or "Unreleased", "entries": items}
            fallback = PolishedTexts(texts=[e.text for e in entries])
            result = await llm.run(POLISH_TASK, inputs, PolishedTexts, fallback)
            provenance.update(result.provenance())
            if result.produced_by != "llm":
                raise _NotPolishedError(result.reason)
            reworded_by.append(llm_actor(self._changed_by, result))
            texts = result.value.texts
            if len(texts) != len(entries):
                raise InvalidRewording(f"{len(texts)} texts for {len(entries)} entries")
            return [Rewording(e.commit, t) for e, t in zip(entries, texts, strict=True)]

        polished, verdict = await polish_release(release, propose)
        polish = {
            "accepted": verdict.accepted,
            "problems": list(verdict.problems),
            "llm": provenance or None,
        }
        return polished, polish, reworded_by[-1] if verdict.accepted and reworded_by else None

    async def __call__(self, events: Sequence[CommitEvent]) -> None:
        for repo in sorted({event.payload.repo for event in events}):
            await self.regenerate(repo)

    async def regenerate(self, repo: str) -> int:
        """Rebuild ``repo``'s changelog; return how many releases changed (0: all as stored)."""
        async with self._pool.acquire() as conn, conn.transaction():
            changed, absent = await self.rebuild(conn, repo)
        if changed or absent:
            log.info(
                "changelog regenerated",
                repo=repo,
                releases_changed=changed,
                releases_absent=absent,
            )
        return changed + absent

    async def rebuild(self, conn: asyncpg.Connection, repo: str) -> tuple[int, int]:
        """Rebuild ``repo``'s changelog in the caller's transaction (a replay's dry run rolls it
        back); return how many releases changed and how many became absent.

        The transaction's actor is this updater's ``changed_by``, with the LLM's model and
        prompt when a changed release's text is its rewording (each release's own
        provenance is in its ``polish``)."""
        await lock_repository(conn, repo)
        records = []
        for row in await repository_commits(conn, repo):
            try:
                records.append(commit_from_mapping(row))
            except ChangelogError as exc:  # a stored commit the stage cannot read
                log.warning(
                    "commit left out of the changelog",
                    repo=repo,
                    sha=row["sha"],
                    reason=str(exc),
                )
        releases = build_changelog(records, self._config)
        contents = releases_to_json(releases)
        stored = await stored_contents(conn, repo)
        changed = []
        actor = self._actor
        for release, content in zip(releases, contents, strict=True):
            tag = release.tag or UNRELEASED
            before = stored.get(tag)
            if before is not None and _canonical(before) == _canonical(content):
                continue
            shown, polish, reworded_by = await self._polish(repo, release)
            actor = reworded_by or actor
            changed.append(
                StoredRelease(
                    tag=tag,
                    release_version=release.version,
                    released_at=release.date,
                    bump=release.bump.label,
                    commit_count=len(release.commits),
                    content=content,
                    markdown=_section(shown, self._config),
                    polish=polish,
                )
            )
        order = [release.tag or UNRELEASED for release in releases]
        absent = sorted(set(stored) - set(order))
        await set_actor(conn, actor)
        await save_releases(
            conn, repo, changed=changed, absent=absent, order=order, changed_by=self._changed_by
        )
        return len(changed), len(absent)
