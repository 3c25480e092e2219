"""Webhooks: the HTTP endpoints that turn what senders post into events on Kafka.

Each source has a route module and a mapping module of plain functions, usable without the app
(CLI, replays, tests): ``github`` + ``github_mapping``, ``gitlab`` + ``gitlab_mapping``,
``tickets`` + ``ticket_mapping``, ``events`` (``/ingest/logs`` and ``/ingest/events``) +
``log_mapping``. What every route shares is in
``ingestion`` (the per-app state: producer, API-key ``auth`` with ``ratelimit``, ``idempotency``
keys), and ``publisher`` produces with delivery confirmed.
"""

from opsassist.api.webhooks.github_mapping import (
    IgnoredDelivery,
    InvalidPushPayload,
    commit_events_from_push,
    github_issue_event,
    signature_matches,
)
from opsassist.api.webhooks.gitlab_mapping import gitlab_issue_event
from opsassist.api.webhooks.log_mapping import LogDefaults, ParsedLines, Rejection, parse_log_lines
from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload, map_ticket

__all__ = [
    "IgnoredDelivery",
    "InvalidPushPayload",
    "InvalidTicketPayload",
    "LogDefaults",
    "ParsedLines",
    "Rejection",
    "commit_events_from_push",
    "github_issue_event",
    "gitlab_issue_event",
    "map_ticket",
    "parse_log_lines",
    "signature_matches",
]
