"""GitHub's signature check and the push payload mapping, without a server."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest

from opsassist.api.webhooks.github_mapping import (
    InvalidPushPayload,
    commit_events_from_push,
    sign,
    signature_matches,
)
from opsassist.settings import PROJECT_ROOT

PUSH_BYTES = (PROJECT_ROOT / "tests" / "fixtures" / "webhooks" / "github_push.json").read_bytes()


def push() -> dict[str, Any]:
    return copy.deepcopy(json.loads(PUSH_BYTES))


def test_signature_is_githubs_hmac_sha256_of_the_exact_body() -> None:
    # GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert signature_matches("It's a Secret to Everybody", b"Hello, World!", expected)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=" + "0" * 64,
        "sha1=" + hmac.new(b"s", b"body", hashlib.sha1).hexdigest(),
        sign("another secret", b"body"),
        sign("s", b"body!"),
    ],
)
def test_missing_forged_or_other_algorithm_signatures_do_not_match(header: str | None) -> None:
    assert not signature_matches("s", b"body", header)


def test_no_configured_secret_matches_nothing() -> None:
    assert not signature_matches("", b"body", sign("", b"body"))


def test_a_branch_push_yields_one_commit_event_per_commit() -> None:
    events = commit_events_from_push(push())
    assert [e.payload.sha for e in events] == [c["id"] for c in push()["commits"]]
    first = events[0].payload
    assert (first.repo, first.branch, first.tags) == ("Codertocat/Hello-World", "main", [])
    assert first.author_email == "21031067+Codertocat@users.noreply.github.com"
    assert first.authored_at.isoformat() == "2019-05-15T20:20:30+00:00"
    assert events[0].occurred_at == first.committed_at
    assert len({e.id for e in events}) == 2


def test_event_ids_are_stable_across_deliveries_and_differ_per_ref() -> None:
    again = commit_events_from_push(push())
    assert [e.id for e in commit_events_from_push(push())] == [e.id for e in again]
    other_branch = push()
    other_branch["ref"] = "refs/heads/release"
    assert commit_events_from_push(other_branch)[0].id != again[0].id


def test_a_tag_push_is_a_release_marker_on_the_tagged_commit() -> None:
    payload = push()
    payload.update(ref="refs/tags/v2.0.0", commits=[])
    (event,) = commit_events_from_push(payload)
    assert event.payload.sha == payload["head_commit"]["id"]
    assert event.payload.tags == ["v2.0.0"]
    assert event.payload.branch is None


def test_deleting_a_branch_or_tag_produces_nothing() -> None:
    payload = push()
    payload.update(deleted=True, commits=[], head_commit=None)
    assert commit_events_from_push(payload) == []


@pytest.mark.parametrize(
    "change",
    [
        {"ref": None},
        {"repository": "nope"},
        {"commits": [{"id": "not-a-sha", "timestamp": "2019-05-15T15:20:30Z"}]},
        {"commits": [{"id": "a" * 40}]},
        {"commits": "abc"},
    ],
)
def test_payloads_without_what_a_commit_needs_are_refused(change: dict[str, Any]) -> None:
    payload = push()
    payload.update(change)
    with pytest.raises(InvalidPushPayload):
        commit_events_from_push(payload)
