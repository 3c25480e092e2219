"""The notifier's pure rules: transitions, route matching (service, severity, transition, time
of day), the routes file's errors, the receivers' bodies and the webhook signature, the rate
limit, the backoff and the offsets that may be committed."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import orjson
import pytest

from opsassist.streams.notify import (
    Notification,
    OffsetTracker,
    RateLimit,
    RoutesError,
    backoff_seconds,
    build_delivery,
    matching_routes,
    notification_for,
    parse_routes,
    sign_body,
    transition_of,
)
from opsassist.streams.privacy import Redactor

ROUTES = """
[[routes]]
name = "pd"
kind = "pagerduty"
url = "https://events.pagerduty.com/v2/enqueue"
routing_key = "key-1"
services = ["payments-api"]
severities = ["critical"]

[[routes]]
name = "night"
kind = "slack"
url = "https://hooks.slack.com/services/x"
hours = "22:00-06:00"
timezone = "Europe/Berlin"
transitions = ["opened"]

[[routes]]
name = "hook"
kind = "webhook"
url = "https://example.invalid/hook"
secret = "k"
"""

STATE = {
    "id": 7,
    "service": "payments-api",
    "severity": "critical",
    "status": "open",
    "reason": "error spike for jane@example.com",
    "narrative": "payments-api: 2,507 errors in 1 min",
    "assignee": None,
    "opened_at": "2026-01-01T00:00:00+00:00",
    "resolved_at": None,
    "reopened_count": 0,
    "changed_by": "agent:logs",
}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, "open", "opened"),
        ("open", "acknowledged", "acknowledged"),
        ("open", "resolved", "resolved"),
        ("acknowledged", "resolved", "resolved"),
        ("resolved", "open", "reopened"),
        ("open", "open", None),
        ("acknowledged", "open", None),
    ],
)
def test_only_status_moves_are_transitions(
    before: str | None, after: str, expected: str | None
) -> None:
    previous = None if before is None else {"status": before}
    assert transition_of(previous, {"status": after}) == expected


def test_routes_match_by_service_severity_transition_and_local_time_of_day() -> None:
    routes = parse_routes(ROUTES)
    midnight_berlin = datetime(2026, 1, 1, 23, 30, tzinfo=UTC)  # 00:30 in Berlin
    noon = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def names(service: str, severity: str, transition: str, at: datetime) -> list[str]:
        return [r.name for r in matching_routes(routes, service, severity, transition, at)]

    assert names("payments-api", "critical", "opened", midnight_berlin) == ["pd", "night", "hook"]
    assert names("payments-api", "critical", "opened", noon) == ["pd", "hook"]
    assert names("payments-api", "warning", "resolved", midnight_berlin) == ["hook"]
    assert names("checkout", "critical", "opened", noon) == ["hook"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[routes]]\nname = "a"\nkind = "fax"\nurl = "https://x"', "kind must be one of"),
        ('[[routes]]\nname = "a"\nkind = "pagerduty"\nurl = "https://x"', "routing_key"),
        ('[[routes]]\nname = "a"\nkind = "slack"\nurl = "ftp://x"', "url must be"),
        ('[[routes]]\nname = "a"\nkind = "slack"\nurl = "https://x"\nhours = "9-5"', "hours"),
        (
            '[[routes]]\nname = "a"\nkind = "slack"\nurl = "https://x"\ntransitions = ["closed"]',
            "unknown transitions",
        ),
        ('[[routes]]\nname = "a"\nkind = "email"\nurl = "smtp://x:25"', "from and to"),
        ("routes = [", "not TOML"),
    ],
)
def test_a_bad_route_is_refused_naming_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RoutesError, match=message):
        parse_routes(text)


def test_two_routes_of_one_name_are_refused() -> None:
    one = '[[routes]]\nname = "a"\nkind = "slack"\nurl = "https://x"\n'
    with pytest.raises(RoutesError, match="unique"):
        parse_routes(one + one)


def _event(transition: str, route_name: str = "hook") -> Notification:
    [route] = [r for r in parse_routes(ROUTES) if r.name == route_name]
    return notification_for(
        STATE,
        3,
        transition,
        route,
        changed_at="2026-01-01T00:01:00+00:00",
        redact=lambda text: text.replace("jane@example.com", "<email>"),
    )


def test_the_event_id_is_incident_version_route_and_text_is_redacted() -> None:
    event = _event("opened")
    assert event.id == "7:3:hook"
    assert event.reason == "error spike for <email>"
    assert Notification.decode(event.encode()) == event


def test_the_webhook_body_is_signed_like_github() -> None:
    [route] = [r for r in parse_routes(ROUTES) if r.name == "hook"]
    delivery = build_delivery(route, _event("opened"))
    assert delivery.headers is not None
    expected = "sha256=" + hmac.new(b"k", delivery.body, hashlib.sha256).hexdigest()
    assert (
        delivery.headers["X-Opsassist-Signature-256"] == expected == sign_body("k", delivery.body)
    )


def test_pagerduty_triggers_then_resolves_one_alert_per_incident() -> None:
    [route] = [r for r in parse_routes(ROUTES) if r.name == "pd"]
    trigger = orjson.loads(build_delivery(route, _event("opened", "pd")).body)
    resolve = orjson.loads(build_delivery(route, _event("resolved", "pd")).body)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == "opsassist-incident-7"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["routing_key"] == "key-1"
    assert "payload" not in resolve


def test_a_decoded_value_that_is_not_an_event_is_a_value_error() -> None:
    with pytest.raises((ValueError, TypeError)):
        Notification.decode(b"[1, 2]")
    with pytest.raises((ValueError, TypeError)):
        Notification.decode(b'{"id": "x"}')


def test_a_route_over_its_rate_waits_for_the_turn_the_window_frees() -> None:
    limit = RateLimit(per_minute=2)
    assert [limit.reserve(now) for now in (0.0, 1.0)] == [0.0, 0.0]
    assert limit.reserve(2.0) == 58.0  # the third goes when the first leaves the minute
    assert limit.reserve(3.0) == 58.0  # the fourth after the second: 61 s
    assert limit.reserve(200.0) == 0.0


@pytest.mark.parametrize("attempt", [1, 2, 3, 8])
def test_the_wait_between_attempts_grows_to_its_ceiling_and_is_jittered(attempt: int) -> None:
    waits = {backoff_seconds(attempt, 0.5, 2.0) for _ in range(200)}
    assert all(0 <= w <= min(2.0, 0.5 * 2 ** (attempt - 1)) for w in waits)
    assert len(waits) > 1


def test_offsets_are_committed_up_to_the_oldest_record_still_in_flight() -> None:
    offsets: OffsetTracker[tuple[str, int]] = OffsetTracker()
    p0 = ("topic", 0)
    for offset in (10, 11, 12):
        offsets.started(p0, offset)
    offsets.finished(p0, 11)  # a fast route finished before a slow one
    assert offsets.committable() == {p0: 10}
    offsets.committed({p0: 10})
    assert offsets.committable() == {}
    offsets.finished(p0, 10)
    assert offsets.committable() == {p0: 12}
    offsets.finished(p0, 12)
    assert offsets.committable() == {p0: 13}
    assert offsets.in_flight == 0


def test_a_revoked_partition_is_no_longer_committed_and_its_late_finish_is_harmless() -> None:
    offsets: OffsetTracker[tuple[str, int]] = OffsetTracker()
    p0, p1 = ("topic", 0), ("topic", 1)
    offsets.started(p0, 5)
    offsets.started(p1, 7)
    offsets.forget(p0)
    offsets.finished(p0, 5)
    offsets.finished(p1, 7)
    assert offsets.committable() == {p1: 8}


def test_the_message_bodies_pass_the_privacy_policy() -> None:
    redactor = Redactor()
    [route] = [r for r in parse_routes(ROUTES) if r.name == "night"]
    event = notification_for(
        {**STATE, "narrative": "login failures from 10.1.2.3", "assignee": "jane@example.com"},
        2,
        "opened",
        route,
        changed_at="2026-01-01T00:01:00+00:00",
        redact=lambda text: redactor.redact_text(text).text,
    )
    body = build_delivery(route, event).body.decode()
    for personal in ("jane@example.com", "10.1.2.3"):
        assert personal not in body
    assert "<EMAIL>" in body
    assert "<IP_ADDRESS>" in body
