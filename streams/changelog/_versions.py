"""Semantic versions from tags, and the bump a set of commits implies (semver 2.0.0).

Precedence is the ``semver`` library's, which implements the specification's rules (§11): a
pre-release sorts before its release, numeric identifiers compare as numbers (``rc.9`` <
``rc.10``), build metadata is ignored. Plain tuple or string ordering gets the first two wrong.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import semver

from opsassist.streams.changelog._model import Bump, ParsedCommit

# An optional component prefix as monorepos tag (``api/v1.2.3``, ``packages/web/v2.0.0``,
# changesets' ``web@2.0.0``), an optional word (``v``, ``release-``), then the version.
# Choosing one component's releases is the job of ``versions.tag_pattern`` (``^api/``).
_SEMVER = re.compile(
    r"^(?:[^\s]+[/@])?[A-Za-z-]*?"
    r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)
# Types whose commits are user-visible corrections: a patch release (commitizen and
# release-please agree on fix and perf; a revert undoes a shipped change).
_PATCH_TYPES = frozenset({"fix", "perf", "revert"})


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """A release version; equal and ordered as semver 2.0.0 says (build metadata dropped)."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    _precedence: semver.Version = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once: sorting a long history's tags compares each version many times.
        key = semver.Version(self.major, self.minor, self.patch, self.prerelease or None)
        object.__setattr__(self, "_precedence", key)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return bool(self._precedence < other._precedence)

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{self.prerelease}" if self.prerelease else core

    def bumped(self, bump: Bump) -> Version:
        if bump is Bump.MAJOR:
            return Version(self.major + 1, 0, 0)
        if bump is Bump.MINOR:
            return Version(self.major, self.minor + 1, 0)
        if bump is Bump.PATCH:
            return Version(self.major, self.minor, self.patch + 1)
        return self


def parse_version(tag: str) -> Version | None:
    """``v1.2.3``, ``1.2.3-rc.1``, ``release-1.2.3`` → Version; anything else → None."""
    match = _SEMVER.match(tag.strip())
    if not match:
        return None
    return Version(
        int(match["major"]), int(match["minor"]), int(match["patch"]), match["pre"] or ""
    )


_NO_VERSION = Version(0, 0, 0)


def version_order(tag: str) -> tuple[bool, Version]:
    """A sort key for tags: those that are no version first, then by semver precedence."""
    version = parse_version(tag)
    return (False, _NO_VERSION) if version is None else (True, version)


def bump_between(previous: Version, current: Version) -> Bump:
    """The part that changed from one released version to the next."""
    if current.major != previous.major:
        return Bump.MAJOR
    if current.minor != previous.minor:
        return Bump.MINOR
    if current.patch != previous.patch:
        return Bump.PATCH
    return Bump.NONE


def implied_bump(
    commits: Iterable[ParsedCommit],
    base: Version | None,
    pre_1_0_breaking: Bump = Bump.MINOR,
    pre_1_0_feat: Bump = Bump.MINOR,
) -> Bump:
    """The bump the commits call for over ``base``: major for a breaking change, minor for a
    feature, patch for a fix; below 1.0.0 the two pre-1.0 settings apply instead.

    Only commits that follow the convention decide, plus breaking-change footers wherever they
    are: a heuristic guess about a free-form message must not move a version number.
    """
    bump = Bump.NONE
    for commit in commits:
        if commit.breaking:
            bump = max(bump, Bump.MAJOR)
        elif commit.conventional and commit.type == "feat":
            bump = max(bump, Bump.MINOR)
        elif commit.conventional and commit.type in _PATCH_TYPES:
            bump = max(bump, Bump.PATCH)
    if base is not None and base.major == 0:
        if bump is Bump.MAJOR:
            return pre_1_0_breaking
        if bump is Bump.MINOR:
            return pre_1_0_feat
    return bump
