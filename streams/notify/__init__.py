"""Incident notifications as plain code (docs/incidents.md, "Notifications"): which change of an
incident is a transition worth telling, which routes it goes to, the event put on
``ops.notifications`` and the body each receiver kind expects. No Kafka, no database, no network:
``opsassist notify`` (streams/agents/notify.py) does the I/O around these."""

from opsassist.streams.notify._messages import (
    Delivery,
    Notification,
    build_delivery,
    notification_for,
    sign_body,
)
from opsassist.streams.notify._pacing import OffsetTracker, RateLimit, backoff_seconds
from opsassist.streams.notify._routes import (
    KINDS,
    Route,
    RoutesError,
    load_routes,
    matching_routes,
    parse_routes,
)
from opsassist.streams.notify._transitions import TRANSITIONS, transition_of

__all__ = [
    "KINDS",
    "TRANSITIONS",
    "Delivery",
    "Notification",
    "OffsetTracker",
    "RateLimit",
    "Route",
    "RoutesError",
    "backoff_seconds",
    "build_delivery",
    "load_routes",
    "matching_routes",
    "notification_for",
    "parse_routes",
    "sign_body",
    "transition_of",
]
