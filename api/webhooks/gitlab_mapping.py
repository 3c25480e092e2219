"""GitLab webhooks as plain functions: the ``X-Gitlab-Token`` check, and Issue Hook and Note Hook
payloads turned into ticket events, mapped as GitHub's issues are (docs/webhooks.md).

The external id is ``group/project#iid`` (the issue's number within its project, as GitLab shows
it), so a GitLab issue reads like a GitHub one. GitLab's payloads carry the issue's whole current
state (a Note Hook in its ``issue`` object), so every delivery is one ticket event; a Note
Hook's event also carries the note as the ticket's comment (ticket events v3).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from opsassist.api.webhooks.github_mapping import IgnoredDelivery, tracker_ticket_event
from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload
from opsassist.schemas import TicketEvent

SOURCE = "webhook:gitlab"
#: ``X-Gitlab-Event`` values mapped; confidential issues are issues all the same, and their text
#: is redacted like any other ticket's.
ISSUE_HOOKS = ("Issue Hook", "Confidential Issue Hook")
NOTE_HOOKS = ("Note Hook", "Confidential Note Hook")
#: GitLab says ``opened``; the other sources (and GitHub) say ``open``.
_STATES = {"opened": "open"}


def token_matches(expected: str, presented: str | None) -> bool:
    """Whether the ``X-Gitlab-Token`` presented is the configured one, in constant time."""
    if not expected or presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def _time(value: Any) -> Any:
    """GitLab's webhooks have sent times as ``2013-12-03 17:23:34 UTC`` as well as ISO 8601;
    both become ISO 8601 (anything else is left for the schema to refuse with its field)."""
    if isinstance(value, str) and value.endswith(" UTC"):
        try:
            return datetime.fromisoformat(value.removesuffix(" UTC")).replace(tzinfo=UTC)
        except ValueError:
            return value
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidTicketPayload(f"{what} must be an object")
    return value


def _label_titles(labels: Any) -> list[str]:
    if not isinstance(labels, list):
        return []
    return [
        str(label["title"]) for label in labels if isinstance(label, dict) and label.get("title")
    ]


def _gitlab_note(note: dict[str, Any]) -> dict[str, Any]:
    """A Note Hook's note, named as the ticket payload's comment; the author by account id,
    as the issue's reporter is."""
    note_id = note.get("id")
    if not isinstance(note_id, int) or isinstance(note_id, bool):
        raise InvalidTicketPayload("object_attributes.id (the note's id) must be an integer")
    author = note.get("author_id")
    return {
        "id": str(note_id),
        "author_id": None if author is None else str(author),
        "body": note.get("note") or "",
        "created_at": _time(note.get("created_at")),
        "updated_at": _time(note.get("updated_at") or note.get("created_at")),
    }


def gitlab_issue_event(
    hook: str,
    payload: dict[str, Any],
    received_at: datetime | None = None,
    trace_id: str | None = None,
) -> TicketEvent | IgnoredDelivery:
    """The ticket event of one Issue Hook or Note Hook delivery, or why it is ignored (a note on
    a merge request, commit or snippet; any other hook). Raises :class:`InvalidTicketPayload`
    when the payload lacks what a ticket needs."""
    received_at = received_at or datetime.now(UTC)
    comment = None
    if hook in ISSUE_HOOKS:
        issue = _object(payload.get("object_attributes"), "object_attributes")
        labels = payload.get("labels", issue.get("labels"))
    elif hook in NOTE_HOOKS:
        note = _object(payload.get("object_attributes"), "object_attributes")
        if note.get("noteable_type") != "Issue":
            return IgnoredDelivery(f"a note on a {note.get('noteable_type')}, not on an issue")
        issue = _object(payload.get("issue"), "issue")
        labels = issue.get("labels")
        comment = _gitlab_note(note)
    else:
        return IgnoredDelivery(
            f"only {', '.join((*ISSUE_HOOKS, *NOTE_HOOKS))} deliveries are ingested"
        )
    project = _object(payload.get("project"), "project")
    path = project.get("path_with_namespace")
    if not isinstance(path, str) or not path:
        raise InvalidTicketPayload("project.path_with_namespace is missing")
    iid = issue.get("iid")
    if not isinstance(iid, int) or isinstance(iid, bool):
        raise InvalidTicketPayload("the issue's iid must be an integer")
    author = issue.get("author_id")
    state = issue.get("state")
    fields = {
        "external_id": f"{path}#{iid}",
        "source_system": "gitlab",
        "title": issue.get("title"),
        "body": issue.get("description") or "",
        # GitLab's issue payloads name the author by account id only.
        "reporter_id": None if author is None else str(author),
        "status": _STATES.get(state, state) if isinstance(state, str) else state,
        "labels": _label_titles(labels),
        "created_at": _time(issue.get("created_at")),
        "updated_at": _time(issue.get("updated_at") or issue.get("created_at")),
        "comment": comment,
    }
    return tracker_ticket_event(fields, SOURCE, received_at, trace_id)
