"""The HTTP side: FastAPI app factory, health and metrics, webhooks, GraphQL.

The webhook mappings are plain functions, usable without the app (CLI, replays, tests):
"""

from api.github_push import InvalidPushPayload, commit_events_from_push, signature_matches
from api.log_lines import LogDefaults, ParsedLines, Rejection, parse_log_lines
from api.ticket_mapping import InvalidTicketPayload, map_ticket

__all__ = [
    "InvalidPushPayload",
    "InvalidTicketPayload",
    "LogDefaults",
    "ParsedLines",
    "Rejection",
    "commit_events_from_push",
    "map_ticket",
    "parse_log_lines",
    "signature_matches",
]
