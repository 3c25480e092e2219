"""GitHub ``issues`` / ``issue_comment`` and GitLab Issue Hook / Note Hook deliveries, written
in the shapes GitHub's "Webhook events and payloads" and GitLab's "Webhook events" pages
document (trimmed of the ``*_url`` fields the mapping does not read), for unit and integration
tests."""

from __future__ import annotations

from typing import Any


def github_issue(
    action: str = "opened",
    *,
    number: int = 1347,
    state: str = "open",
    labels: tuple[str, ...] = ("bug",),
    updated_at: str = "2026-12-01T09:12:00Z",
    body: str | None = "Checkout returns 502 since the 09:40 deploy. Call me on +44 20 7946 0958.",
) -> dict[str, Any]:
    """An ``issues`` delivery of ``action`` for issue ``number`` of ``octo-org/shop``."""
    return {
        "action": action,
        "issue": {
            "id": 1,
            "node_id": "MDU6SXNzdWUx",
            "number": number,
            "title": "Checkout returns 502",
            "user": {"login": "octocat", "id": 1, "type": "User"},
            "labels": [
                {"id": 208045946 + i, "name": name, "color": "f29513", "default": False}
                for i, name in enumerate(labels)
            ],
            "state": state,
            "state_reason": "completed" if state == "closed" else None,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "comments": 0,
            "created_at": "2026-12-01T09:00:00Z",
            "updated_at": updated_at,
            "closed_at": updated_at if state == "closed" else None,
            "author_association": "OWNER",
            "body": body,
        },
        "repository": {
            "id": 1296269,
            "name": "shop",
            "full_name": "octo-org/shop",
            "private": False,
            "owner": {"login": "octo-org", "id": 2, "type": "Organization"},
        },
        "sender": {"login": "octocat", "id": 1, "type": "User"},
    }


def github_issue_comment(
    *,
    pull_request: bool = False,
    updated_at: str = "2026-12-01T09:30:00Z",
    action: str = "created",
    comment_body: str = "Same here, started after the deploy.",
) -> dict[str, Any]:
    """An ``issue_comment`` delivery of ``action`` (``created``, ``edited``, ``deleted``); on a
    pull request when ``pull_request``."""
    delivery = github_issue(updated_at=updated_at)
    delivery["action"] = action
    if pull_request:
        delivery["issue"]["pull_request"] = {
            "url": "https://api.github.com/repos/octo-org/shop/pulls/1347",
            "merged_at": None,
        }
    delivery["comment"] = {
        "id": 1362934389,
        "user": {"login": "hubot", "id": 3, "type": "User"},
        "created_at": updated_at,
        "updated_at": updated_at,
        "author_association": "MEMBER",
        "body": comment_body,
    }
    return delivery


def _gitlab_issue(state: str, updated_at: str) -> dict[str, Any]:
    return {
        "id": 301,
        "iid": 23,
        "title": "Login page times out",
        "description": "Since this morning the login page times out; write to ops@example.com.",
        "author_id": 51,
        "project_id": 14,
        "state": state,
        "created_at": "2026-12-02 08:00:00 UTC",
        "updated_at": updated_at,
        "confidential": False,
    }


def gitlab_issue_hook(
    action: str = "open", *, state: str = "opened", updated_at: str = "2026-12-02 08:05:00 UTC"
) -> dict[str, Any]:
    """An Issue Hook delivery (``object_kind: issue``) for issue 23 of ``platform/auth``."""
    return {
        "object_kind": "issue",
        "event_type": "issue",
        "user": {"id": 51, "name": "Ada Ops", "username": "ada", "email": "[REDACTED]"},
        "project": {
            "id": 14,
            "name": "auth",
            "path_with_namespace": "platform/auth",
            "web_url": "http://gitlab.example.invalid/platform/auth",
        },
        "object_attributes": {**_gitlab_issue(state, updated_at), "action": action},
        "labels": [{"id": 206, "title": "incident", "color": "#dc143c", "type": "ProjectLabel"}],
        "changes": {},
    }


def gitlab_note_hook(noteable_type: str = "Issue") -> dict[str, Any]:
    """A Note Hook delivery (``object_kind: note``) commenting on issue 23 (or on a merge
    request, when ``noteable_type`` says so)."""
    note: dict[str, Any] = {
        "id": 1244,
        "note": "Still failing for me.",
        "noteable_type": noteable_type,
        "author_id": 52,
        "created_at": "2026-12-02 08:10:00 UTC",
        "updated_at": "2026-12-02 08:10:00 UTC",
    }
    delivery: dict[str, Any] = {
        "object_kind": "note",
        "event_type": "note",
        "user": {"id": 52, "name": "Bo Dev", "username": "bo"},
        "project": {"id": 14, "name": "auth", "path_with_namespace": "platform/auth"},
        "object_attributes": note,
    }
    if noteable_type == "Issue":
        issue = _gitlab_issue("opened", "2026-12-02 08:10:00 UTC")
        issue["labels"] = [{"id": 206, "title": "incident"}]
        delivery["issue"] = issue
    else:
        delivery["merge_request"] = {"id": 99, "iid": 4, "title": "Fix login"}
    return delivery
