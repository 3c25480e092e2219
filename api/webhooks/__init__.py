"""Webhooks: the HTTP endpoints that turn what senders post into events on Kafka.

Each source has a route module and a mapping module of plain functions, usable without the app
(CLI, replays, tests): ``github`` + ``github_mapping``, ``gitlab`` + ``gitlab_mapping``,
``tickets`` + ``ticket_mapping``, ``events`` (``/ingest/logs`` and ``/ingest/events``) +
``log_mapping``, ``otlp`` (``/v1/logs``, OTLP/HTTP) + ``otlp_mapping``, ``alertmanager`` +
``alertmanager_mapping``. What every route shares is in
``ingestion`` (the per-app state: producer, API-key ``auth`` with ``ratelimit``, ``idempotency``
keys), and ``publisher`` produces with delivery confirmed.
"""

from opsassist.api.webhooks.alertmanager_mapping import InvalidAlertmanagerPayload, alert_events
from opsassist.api.webhooks.github_mapping import (
    IgnoredDelivery,
    InvalidPushPayload,
    commit_events_from_push,
    github_issue_event,
    signature_matches,
)
from opsassist.api.webhooks.gitlab_mapping import gitlab_issue_event
from opsassist.api.webhooks.log_mapping import LogDefaults, ParsedLines, Rejection, parse_log_lines
from opsassist.api.webhooks.otlp_mapping import (
    MalformedExport,
    MappedLogs,
    decode_export_request,
    map_log_records,
)
from opsassist.api.webhooks.ticket_mapping import InvalidTicketPayload, map_ticket

__all__ = [
    "IgnoredDelivery",
    "InvalidAlertmanagerPayload",
    "InvalidPushPayload",
    "InvalidTicketPayload",
    "LogDefaults",
    "MalformedExport",
    "MappedLogs",
    "ParsedLines",
    "Rejection",
    "alert_events",
    "commit_events_from_push",
    "decode_export_request",
    "github_issue_event",
    "gitlab_issue_event",
    "map_log_records",
    "map_ticket",
    "parse_log_lines",
    "signature_matches",
]
