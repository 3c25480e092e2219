"""Alertmanager's webhook (payload version 4) as plain functions: the notification validated,
and each of its alerts turned into an alert event keyed by its fingerprint.

Alertmanager sends a group's alerts, each with its state at the time of the notification, and
repeats the notification (``repeat_interval``) while they fire: the event id is derived from the
fingerprint, the status and the alert's times, so a repeat of the same state is the same event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsassist.schemas import AlertEvent, AlertPayloadV1

SOURCE = "webhook:alertmanager"
_ID_NAMESPACE = uuid.UUID("6f707361-0006-4000-8000-000000000006")
# Alertmanager writes Go's zero time for "no end yet".
_NO_TIME = datetime(1, 1, 2, tzinfo=UTC)
#: Labels read as the alert's service, the first one present (the log events' ``service``).
SERVICE_LABELS = ("service", "service_name", "app", "job")


class InvalidAlertmanagerPayload(ValueError):
    """Not an Alertmanager webhook of version 4; ``str()`` says where and why."""


class _Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")
    fingerprint: str


class _Notification(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    group_key: str = Field(default="", alias="groupKey")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    alerts: list[_Alert] = Field(min_length=1)


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}"
        for e in exc.errors(include_url=False)[:5]
    )


def _time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset: before any real alert, as zero time
        return None
    return None if value < _NO_TIME else value


def alert_events(data: object, received_at: datetime) -> list[AlertEvent]:
    """One alert event per alert of the notification ``data`` (parsed JSON), all or none:
    :class:`InvalidAlertmanagerPayload` names what is wrong."""
    try:
        notification = _Notification.model_validate(data)
    except ValidationError as exc:
        raise InvalidAlertmanagerPayload(_describe(exc)) from None
    events = []
    for index, alert in enumerate(notification.alerts):
        starts_at = _time(alert.starts_at) or received_at
        ends_at = _time(alert.ends_at)
        service = next((alert.labels[k] for k in SERVICE_LABELS if alert.labels.get(k)), None)
        summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
        try:
            payload = AlertPayloadV1(
                fingerprint=alert.fingerprint,
                status=alert.status,
                alertname=alert.labels.get("alertname", ""),
                service=service,
                severity=alert.labels.get("severity"),
                summary=summary,
                labels=alert.labels,
                annotations=alert.annotations,
                starts_at=starts_at,
                ends_at=ends_at,
                generator_url=alert.generator_url,
                receiver=notification.receiver or None,
                group_key=notification.group_key or None,
            )
        except ValidationError as exc:
            reason = _describe(exc).replace("\n", " ")
            raise InvalidAlertmanagerPayload(f"alerts.{index}: {reason}") from None
        state = f"{payload.fingerprint}:{payload.status}:{starts_at.isoformat()}:{ends_at}"
        events.append(
            AlertEvent(
                id=f"alert:{uuid.uuid5(_ID_NAMESPACE, state)}",
                schema_version=1,
                source=SOURCE,
                occurred_at=ends_at if payload.status == "resolved" and ends_at else starts_at,
                received_at=received_at,
                payload=payload,
            )
        )
    return events
