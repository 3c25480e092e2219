"""The values a changelog is made of: commits in, parsed commits, entries, groups and releases out.

All frozen dataclasses: the pipeline, the CLI and the benchmark pass them around and compare them
(the lead diffs stored releases against regenerated ones), so equality must mean "same content".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum


class ChangelogError(ValueError):
    """Base of the errors this package raises."""


class InvalidCommit(ChangelogError):
    """A commit record lacks what a changelog needs (a hash, a message)."""


class InvalidConfig(ChangelogError):
    """A changelog configuration file is malformed; the message names the key."""


class Bump(IntEnum):
    """The semver part a release increments; ordered so that ``max`` picks the strongest."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """One commit as git (or a stored row) knows it; ``message`` is subject, blank line, body."""

    sha: str
    message: str
    parents: tuple[str, ...] = ()
    author_name: str = ""
    authored_at: datetime | None = None
    committed_at: datetime | None = None
    tags: tuple[str, ...] = ()
    # A release the commit is already known to belong to (the evaluation data states it);
    # None means "derive it from tags".
    release: str | None = None


@dataclass(frozen=True, slots=True)
class Footer:
    token: str
    value: str


@dataclass(frozen=True, slots=True)
class ParsedCommit:
    """What a commit message says, by the Conventional Commits 1.0 grammar or the heuristic.

    ``conventional`` is False when the header did not follow the grammar; ``type`` is then the
    heuristic's guess (see ``opsassist.streams.changelog._heuristic``), never empty.
    """

    sha: str
    header: str
    type: str
    scope: str | None
    description: str
    body: str
    footers: tuple[Footer, ...]
    breaking: bool
    breaking_description: str | None
    conventional: bool
    merge: bool = False
    revert_of: str | None = None
    pull_request: int | None = None
    issues: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a changelog, from exactly one commit."""

    commit: str
    text: str
    type: str
    scope: str | None
    breaking: bool
    conventional: bool
    pull_request: int | None = None
    issues: tuple[int, ...] = ()
    # What the BREAKING CHANGE footer says, when it says more than the description.
    breaking_note: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A commit that is in the release but not in its text, and why (nothing goes silently)."""

    commit: str
    reason: str


@dataclass(frozen=True, slots=True)
class Release:
    """One tagged release, or the Unreleased section (``tag`` None)."""

    tag: str | None
    version: str | None
    date: datetime | None
    bump: Bump
    previous_version: str | None
    groups: tuple[Group, ...]
    skipped: tuple[Skipped, ...] = ()
    commits: tuple[str, ...] = field(default=())
    # Unreleased only: the version the implied bump leads to from the last release.
    next_version: str | None = None

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(entry for group in self.groups for entry in group.entries)
