"""GitHub webhooks as plain functions: the ``X-Hub-Signature-256`` check, a ``push`` payload
turned into commit events, and ``issues`` / ``issue_comment`` payloads turned into ticket events.

A branch push gives one commit event per commit in the payload, with the branch. A tag push
(``refs/tags/<tag>``) is a release marker: one commit event for the tagged commit
(``head_commit``) with ``tags == [<tag>]`` and no branch; the store merges the tag into the commit
it already has. Deleting a branch or tag produces nothing. Push payloads carry no parent shas,
so ``parents`` stays empty.

Every ``issues`` action and every ``issue_comment`` carries the issue's whole current state, so
each becomes one ticket event with external id ``owner/repo#number`` (the mapping is in
docs/webhooks.md); an ``issue_comment``'s event also carries the comment (ticket events v3).
GitLab's issue hooks are mapped the same way (``gitlab_mapping`` builds on
:func:`tracker_ticket_event` and :class:`IgnoredDelivery`).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload, ticket_event
from opsassist.schemas import CommitEvent, CommitPayloadV1, TicketEvent, TicketPayloadV3

SOURCE = "webhook:github"
_ID_NAMESPACE = uuid.UUID("6f707361-0003-4000-8000-000000000001")


class InvalidPushPayload(ValueError):
    """The push payload lacks what a commit event needs; the text says what."""


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is GitHub's signature of ``body``, compared in constant time."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def _event_id(repo: str, ref: str, sha: str) -> str:
    # The same commit pushed to the same ref is the same event, however often it is delivered.
    name = "\x00".join((repo, ref, sha))
    return f"github:{uuid.uuid5(_ID_NAMESPACE, name)}"


def _person(commit: dict[str, Any]) -> tuple[str, str | None]:
    author = commit.get("author") or {}
    if not isinstance(author, dict):
        author = {}
    name = author.get("name") or author.get("username") or "unknown"
    email = author.get("email")
    return str(name), str(email) if isinstance(email, str) and email else None


def _commit_event(
    repo: str,
    ref: str,
    commit: Any,
    *,
    branch: str | None,
    tags: list[str],
    received_at: datetime,
    trace_id: str | None,
) -> CommitEvent:
    if not isinstance(commit, dict):
        raise InvalidPushPayload("a commit of the push is not an object")
    name, email = _person(commit)
    timestamp = commit.get("timestamp")
    try:
        payload = CommitPayloadV1(
            repo=repo,
            sha=str(commit.get("id", "")),
            author_name=name,
            author_email=email,
            authored_at=timestamp,  # type: ignore[arg-type]
            committed_at=timestamp,  # type: ignore[arg-type]
            message=str(commit.get("message", "")),
            branch=branch,
            tags=tags,
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise InvalidPushPayload(
            f"commit {commit.get('id')!r}: {'.'.join(map(str, first['loc']))}: {first['msg']}"
        ) from None
    return CommitEvent(
        id=_event_id(repo, ref, payload.sha),
        schema_version=1,
        source=SOURCE,
        occurred_at=payload.committed_at,
        received_at=received_at,
        trace_id=trace_id,
        payload=payload,
    )


def commit_events_from_push(
    payload: dict[str, Any], received_at: datetime | None = None, trace_id: str | None = None
) -> list[CommitEvent]:
    """The commit events of one ``push`` delivery (empty for a deleted branch or tag)."""
    received_at = received_at or datetime.now(UTC)
    ref = payload.get("ref")
    repository = payload.get("repository")
    if not isinstance(ref, str) or not isinstance(repository, dict):
        raise InvalidPushPayload("a push payload has 'ref' and 'repository'")
    repo = repository.get("full_name") or repository.get("name")
    if not isinstance(repo, str) or not repo:
        raise InvalidPushPayload("repository.full_name is missing")
    if payload.get("deleted"):
        return []
    if ref.startswith("refs/tags/"):
        head = payload.get("head_commit")
        if head is None:
            return []
        tag = ref.removeprefix("refs/tags/")
        return [
            _commit_event(
                repo, ref, head, branch=None, tags=[tag], received_at=received_at, trace_id=trace_id
            )
        ]
    branch = ref.removeprefix("refs/heads/")
    commits = payload.get("commits") or []
    if not isinstance(commits, list):
        raise InvalidPushPayload("'commits' is not a list")
    return [
        _commit_event(
            repo, ref, c, branch=branch, tags=[], received_at=received_at, trace_id=trace_id
        )
        for c in commits
    ]


@dataclass(frozen=True, slots=True)
class IgnoredDelivery:
    """A delivery deliberately not turned into an event; ``reason`` is said to the sender."""

    reason: str


#: Actions after which the issue is no longer in the repository the webhook belongs to: their
#: payload's ``updated_at`` is the issue's last edit, not the moment it went, so the event is
#: dated when it was received (else it would share its id with that last edit's event).
_GONE_STATUS = {"deleted": "deleted", "transferred": "transferred"}


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidTicketPayload(f"{what} must be an object")
    return value


def tracker_ticket_event(
    fields: dict[str, Any], source: str, received_at: datetime, trace_id: str | None
) -> TicketEvent:
    """The ticket event of an issue tracker's issue, its fields already named as the ticket
    payload's; a field the payload refuses is named in the error."""
    try:
        payload = TicketPayloadV3.model_validate(fields)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        described = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
        raise InvalidTicketPayload(described) from None
    return ticket_event(payload, source, received_at, trace_id)


def _label_names(labels: Any, key: str) -> list[str]:
    if not isinstance(labels, list):
        return []
    names = (label.get(key) if isinstance(label, dict) else label for label in labels)
    return [str(name) for name in names if name]


def github_issue_event(
    event_name: str,
    payload: dict[str, Any],
    received_at: datetime | None = None,
    trace_id: str | None = None,
    *,
    pull_requests: bool = False,
) -> TicketEvent | IgnoredDelivery:
    """The ticket event of one ``issues`` or ``issue_comment`` delivery, or why it is ignored.

    GitHub treats a pull request as an issue: ``issue_comment`` is sent for comments on pull
    requests too (``issue.pull_request`` is then present). Those are ignored unless
    ``pull_requests``. Raises :class:`InvalidTicketPayload` when the payload lacks what a ticket
    needs."""
    received_at = received_at or datetime.now(UTC)
    action = payload.get("action")
    issue = _object(payload.get("issue"), "issue")
    repository = _object(payload.get("repository"), "repository")
    repo = repository.get("full_name")
    if not isinstance(repo, str) or not repo:
        raise InvalidTicketPayload("repository.full_name is missing")
    if "pull_request" in issue and not pull_requests:
        return IgnoredDelivery(
            f"{event_name} of a pull request (OPSASSIST_GITHUB_ISSUE_PULL_REQUESTS is off)"
        )
    number = issue.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise InvalidTicketPayload("issue.number must be an integer")
    user = issue.get("user")
    status = issue.get("state")
    updated_at = issue.get("updated_at") or issue.get("created_at")
    if event_name == "issues" and isinstance(action, str) and action in _GONE_STATUS:
        status = _GONE_STATUS[action]
        updated_at = received_at
    comment = None
    if event_name == "issue_comment":
        comment = _github_comment(payload, action, received_at)
    fields = {
        "external_id": f"{repo}#{number}",
        "source_system": "github",
        "title": issue.get("title"),
        "body": issue.get("body") or "",
        "reporter_id": user.get("login") if isinstance(user, dict) else None,
        "status": status,
        "labels": _label_names(issue.get("labels"), "name"),
        "created_at": issue.get("created_at"),
        "updated_at": updated_at,
        "comment": comment,
    }
    return tracker_ticket_event(fields, SOURCE, received_at, trace_id)


def _github_comment(payload: dict[str, Any], action: Any, received_at: datetime) -> dict[str, Any]:
    """The ``comment`` of an ``issue_comment`` delivery, named as the ticket payload's comment.
    A deletion is dated when it was received: the comment's ``updated_at`` is then its last
    edit, which a deletion must outrank."""
    comment = _object(payload.get("comment"), "comment")
    comment_id = comment.get("id")
    if not isinstance(comment_id, int) or isinstance(comment_id, bool):
        raise InvalidTicketPayload("comment.id must be an integer")
    user = comment.get("user")
    deleted = action == "deleted"
    return {
        "id": str(comment_id),
        "author_id": user.get("login") if isinstance(user, dict) else None,
        "body": comment.get("body") or "",
        "created_at": comment.get("created_at"),
        "updated_at": received_at if deleted else comment.get("updated_at"),
        "deleted": deleted,
    }
