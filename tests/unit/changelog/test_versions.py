"""Version precedence as the SemVer 2.0.0 specification orders it, and the tags we read."""

from __future__ import annotations

import itertools
import random

import pytest

from opsassist.streams.changelog import Bump, build_changelog, default_config
from opsassist.streams.changelog._config import config_from_toml
from opsassist.streams.changelog._versions import Version, parse_version, version_order
from tests.unit.changelog.test_releases import history

# The specification's own examples (semver.org, §11), lowest first.
SPEC_ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
]


def _v(tag: str) -> Version:
    version = parse_version(tag)
    assert version is not None, tag
    return version


def test_specification_precedence_examples_sort_in_order() -> None:
    shuffled = SPEC_ORDER[:]
    random.Random(7).shuffle(shuffled)
    assert [str(v) for v in sorted(_v(t) for t in shuffled)] == SPEC_ORDER
    for lower, higher in itertools.pairwise(SPEC_ORDER):
        assert _v(lower) < _v(higher)
        assert not _v(higher) < _v(lower)


def test_a_release_outranks_its_release_candidates() -> None:
    assert max(_v("v1.0.0-rc.1"), _v("v1.0.0")) == _v("1.0.0")
    assert _v("v1.0.0-rc.9") < _v("v1.0.0-rc.10")


def test_build_metadata_does_not_count() -> None:
    assert _v("1.0.0+20130313144700") == _v("1.0.0")
    assert not _v("1.0.0+b") < _v("1.0.0+a")


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("v1.2.3", "1.2.3"),
        ("release-1.2.3", "1.2.3"),
        ("api/v1.2.3", "1.2.3"),
        ("packages/web/v2.0.0-beta.1", "2.0.0-beta.1"),
        ("web@2.0.0", "2.0.0"),
    ],
)
def test_tags_with_prefixes_and_monorepo_components_parse(tag: str, expected: str) -> None:
    assert str(_v(tag)) == expected


@pytest.mark.parametrize("tag", ["not-a-release", "v1.2", "1.0.0-", "1.0.0-rc..1", "01.2.3"])
def test_malformed_versions_are_not_versions(tag: str) -> None:
    assert parse_version(tag) is None


def test_tags_that_are_no_version_sort_below_every_version() -> None:
    tags = ["v1.0.0", "nightly", "v0.0.1-alpha"]
    assert sorted(tags, key=version_order) == ["nightly", "v0.0.1-alpha", "v1.0.0"]


def test_a_commit_tagged_rc_and_final_is_released_as_the_final() -> None:
    commits = history(("feat: a", ("v1.0.0-rc.1", "v1.0.0")))
    [release] = build_changelog(commits, default_config())
    assert release.tag == "v1.0.0"


def test_releases_follow_semver_precedence_of_release_candidates() -> None:
    commits = history(
        ("feat: a", ("v1.0.0-rc.9",)),
        ("fix: b", ("v1.0.0-rc.10",)),
        ("fix: c", ("v1.0.0",)),
    )
    releases = build_changelog(commits, default_config())
    assert [r.tag for r in releases] == ["v1.0.0", "v1.0.0-rc.10", "v1.0.0-rc.9"]
    assert releases[0].previous_version == "1.0.0-rc.10"


def test_a_monorepo_component_is_chosen_with_the_tag_pattern() -> None:
    api_only = config_from_toml("[versions]\ntag_pattern = '^api/v'\n")
    commits = history(
        ("feat: a", ("api/v1.0.0", "web/v3.0.0")),
        ("fix: b", ("web/v3.1.0",)),
        ("fix: c", ("api/v1.0.1",)),
    )
    releases = build_changelog(commits, api_only)
    assert [(r.tag, r.version) for r in releases] == [
        ("api/v1.0.1", "1.0.1"),
        ("api/v1.0.0", "1.0.0"),
    ]
    assert releases[0].previous_version == "1.0.0"
    assert releases[0].bump is Bump.PATCH
