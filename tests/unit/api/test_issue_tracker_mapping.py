"""GitHub issues and GitLab issue hooks mapped to ticket events (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsassist.api.webhooks import IgnoredDelivery, github_issue_event, gitlab_issue_event
from opsassist.api.webhooks.gitlab_mapping import token_matches
from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload
from opsassist.schemas import TicketEvent
from tests.unit.api.issue_tracker_payloads import (
    github_issue,
    github_issue_comment,
    gitlab_issue_hook,
    gitlab_note_hook,
)

RECEIVED = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_an_opened_github_issue_maps_every_ticket_field() -> None:
    event = github_issue_event("issues", github_issue(labels=("bug", "checkout")), RECEIVED)
    assert isinstance(event, TicketEvent)
    p = event.payload
    assert (p.external_id, p.source_system) == ("octo-org/shop#1347", "github")
    assert (p.title, p.reporter_id, p.status) == ("Checkout returns 502", "octocat", "open")
    assert p.body.startswith("Checkout returns 502 since the 09:40 deploy.")
    assert p.labels == ["bug", "checkout"]
    assert p.created_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert p.updated_at == datetime(2026, 12, 1, 9, 12, tzinfo=UTC)
    assert event.source == "webhook:github"


def test_each_github_state_change_is_its_own_event_and_a_redelivery_the_same_one() -> None:
    opened = github_issue_event("issues", github_issue(), RECEIVED)
    closed = github_issue_event(
        "issues", github_issue("closed", state="closed", updated_at="2026-12-01T10:00:00Z")
    )
    again = github_issue_event("issues", github_issue(), RECEIVED)
    assert isinstance(opened, TicketEvent) and isinstance(closed, TicketEvent)
    assert isinstance(again, TicketEvent)
    assert closed.payload.status == "closed"
    assert opened.id != closed.id
    assert again.id == opened.id


def test_a_deleted_or_transferred_issue_is_dated_when_received_so_it_is_not_merged() -> None:
    edited = github_issue_event("issues", github_issue("edited"), RECEIVED)
    for action in ("deleted", "transferred"):
        gone = github_issue_event("issues", github_issue(action), RECEIVED)
        assert isinstance(gone, TicketEvent) and isinstance(edited, TicketEvent)
        assert gone.payload.status == action
        assert gone.payload.updated_at == RECEIVED
        assert gone.id != edited.id


def test_comments_on_pull_requests_are_ignored_unless_configured() -> None:
    ignored = github_issue_event("issue_comment", github_issue_comment(pull_request=True))
    assert isinstance(ignored, IgnoredDelivery)
    assert "pull request" in ignored.reason
    taken = github_issue_event(
        "issue_comment", github_issue_comment(pull_request=True), pull_requests=True
    )
    assert isinstance(taken, TicketEvent)
    on_issue = github_issue_event("issue_comment", github_issue_comment())
    assert isinstance(on_issue, TicketEvent)
    assert on_issue.payload.updated_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issue": None}, "issue must be an object"),
        ({"repository": {"name": "shop"}}, "repository.full_name"),
        ({"issue": {**github_issue()["issue"], "number": "12"}}, "issue.number"),
        ({"issue": {**github_issue()["issue"], "title": None}}, "title"),
    ],
)
def test_a_github_payload_without_what_a_ticket_needs_is_refused_saying_what(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidTicketPayload, match=message):
        github_issue_event("issues", {**github_issue(), **change})


def test_a_gitlab_issue_hook_maps_like_a_github_issue() -> None:
    event = gitlab_issue_event("Issue Hook", gitlab_issue_hook(), RECEIVED)
    assert isinstance(event, TicketEvent)
    p = event.payload
    assert (p.external_id, p.source_system, p.status) == ("platform/auth#23", "gitlab", "open")
    assert (p.title, p.reporter_id, p.labels) == ("Login page times out", "51", ["incident"])
    assert p.created_at == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert p.updated_at == datetime(2026, 12, 2, 8, 5, tzinfo=UTC)
    assert event.source == "webhook:gitlab"
    closed = gitlab_issue_event(
        "Issue Hook", gitlab_issue_hook("close", state="closed", updated_at="2026-12-02T09:00:00Z")
    )
    assert isinstance(closed, TicketEvent)
    assert closed.payload.status == "closed"


def test_gitlab_notes_on_issues_update_the_ticket_and_other_notes_are_ignored() -> None:
    on_issue = gitlab_issue_event("Note Hook", gitlab_note_hook())
    assert isinstance(on_issue, TicketEvent)
    assert on_issue.payload.external_id == "platform/auth#23"
    assert on_issue.payload.labels == ["incident"]
    on_mr = gitlab_issue_event("Note Hook", gitlab_note_hook("MergeRequest"))
    assert isinstance(on_mr, IgnoredDelivery)
    assert "MergeRequest" in on_mr.reason
    push = gitlab_issue_event("Push Hook", {"object_kind": "push"})
    assert isinstance(push, IgnoredDelivery)


def test_a_gitlab_time_in_neither_format_is_refused_with_its_field() -> None:
    hook = gitlab_issue_hook(updated_at="yesterday")
    with pytest.raises(InvalidTicketPayload, match="updated_at"):
        gitlab_issue_event("Issue Hook", hook)


def test_the_gitlab_token_must_match_exactly_and_an_empty_one_matches_nothing() -> None:
    assert token_matches("s3cret-token", "s3cret-token")
    assert not token_matches("s3cret-token", "s3cret-tokeN")
    assert not token_matches("s3cret-token", None)
    assert not token_matches("", "")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(
        ["number", "title", "body", "user", "labels", "state", "created_at", "updated_at"]
    ),
    value=_JSON,
    action=_JSON,
)
def test_any_value_in_a_github_issue_field_is_mapped_or_refused_never_crashes(
    field: str, value: object, action: object
) -> None:
    delivery = github_issue()
    delivery["issue"][field] = value
    delivery["action"] = action
    try:
        event = github_issue_event("issues", delivery, RECEIVED)
    except InvalidTicketPayload as exc:
        assert str(exc), "a refusal says what is wrong"
    else:
        assert isinstance(event, TicketEvent)
        assert event.payload.external_id.startswith("octo-org/shop#")


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(
        ["iid", "title", "description", "author_id", "state", "created_at", "updated_at"]
    ),
    value=_JSON,
    labels=_JSON,
)
def test_any_value_in_a_gitlab_issue_field_is_mapped_or_refused_never_crashes(
    field: str, value: object, labels: object
) -> None:
    delivery = gitlab_issue_hook()
    delivery["object_attributes"][field] = value
    delivery["labels"] = labels
    try:
        event = gitlab_issue_event("Issue Hook", delivery, RECEIVED)
    except InvalidTicketPayload as exc:
        assert str(exc), "a refusal says what is wrong"
    else:
        assert isinstance(event, TicketEvent)
        assert event.payload.external_id.startswith("platform/auth#")


def test_a_github_comment_travels_with_its_ticket_event_and_each_change_is_its_own_event() -> None:
    created = github_issue_event("issue_comment", github_issue_comment(), RECEIVED)
    assert isinstance(created, TicketEvent) and created.payload.comment is not None
    c = created.payload.comment
    assert (c.id, c.author_id, c.body) == (
        "1362934389",
        "hubot",
        "Same here, started after the deploy.",
    )
    assert c.updated_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC) and not c.deleted
    edit = github_issue_comment(action="edited", comment_body="Fixed.")
    edit["comment"]["updated_at"] = "2026-12-01T09:45:00Z"  # GitHub leaves the issue's alone
    edited = github_issue_event("issue_comment", edit, RECEIVED)
    deleted = github_issue_event("issue_comment", github_issue_comment(action="deleted"), RECEIVED)
    assert isinstance(edited, TicketEvent) and isinstance(deleted, TicketEvent)
    assert deleted.payload.comment is not None and deleted.payload.comment.deleted
    assert deleted.payload.comment.updated_at == RECEIVED  # outranks the comment's last edit
    # an edit at the issue's same updated_at is still a change of its own, not a redelivery
    assert len({created.id, edited.id, deleted.id}) == 3
    again = github_issue_event("issue_comment", github_issue_comment(), RECEIVED)
    assert isinstance(again, TicketEvent) and again.id == created.id
    plain = github_issue_event("issues", github_issue(), RECEIVED)
    assert isinstance(plain, TicketEvent) and plain.payload.comment is None


def test_a_gitlab_note_on_an_issue_is_the_ticket_s_comment() -> None:
    event = gitlab_issue_event("Note Hook", gitlab_note_hook(), RECEIVED)
    assert isinstance(event, TicketEvent) and event.payload.comment is not None
    c = event.payload.comment
    assert (c.id, c.author_id, c.body) == ("1244", "52", "Still failing for me.")
    assert c.created_at == datetime(2026, 12, 2, 8, 10, tzinfo=UTC)
    broken = gitlab_note_hook()
    broken["object_attributes"]["id"] = None
    with pytest.raises(InvalidTicketPayload, match="note's id"):
        gitlab_issue_event("Note Hook", broken)
