"""GitHub webhooks as plain functions: the ``X-Hub-Signature-256`` check, and a ``push`` payload
turned into commit events.

A branch push gives one commit event per commit in the payload, with the branch. A tag push
(``refs/tags/<tag>``) is a release marker: one commit event for the tagged commit
(``head_commit``) with ``tags == [<tag>]`` and no branch; the store merges the tag into the commit
it already has. Deleting a branch or tag produces nothing. Push payloads carry no parent shas,
so ``parents`` stays empty.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from opsassist.schemas import CommitEvent, CommitPayloadV1

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
