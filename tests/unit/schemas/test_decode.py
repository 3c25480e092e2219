"""Decoding events: every way an event can be wrong gets its own reason code, and the fast path
for the common case decodes exactly what the general path does."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from opsassist.schemas import (
    InvalidEvent,
    LogEvent,
    decode_event,
    encode_event,
    kafka_headers,
    kafka_key,
)
from opsassist.schemas.registry import trace_id_from_traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def log_dict(**changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "id": "e-1",
        "kind": "log",
        "schema_version": 1,
        "source": "test",
        "occurred_at": "2026-11-20T10:00:00+02:00",
        "payload": {
            "timestamp": "2026-11-20T10:00:00",
            "service": "payments-api",
            "level": "ERROR",
            "message": "Timeout connecting to db-1:5432",
        },
    }
    event.update(changes)
    return event


def raw(event: dict[str, object]) -> bytes:
    return orjson.dumps(event)


def reason(data: bytes | None, kind: str | None = "log", headers: object = None) -> str:
    with pytest.raises(InvalidEvent) as err:
        decode_event(data, kind, headers)  # type: ignore[arg-type]
    return err.value.code


def test_a_valid_event_decodes_with_timestamps_in_utc() -> None:
    event = decode_event(raw(log_dict()), "log")
    assert isinstance(event, LogEvent)
    assert event.occurred_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert event.occurred_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    # a naive timestamp is read as UTC, not as local time
    assert event.payload.timestamp == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"\x00\xffnot json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (raw(log_dict(kind="metric")), "unknown_kind"),
        (raw(log_dict(kind="commit")), "wrong_kind"),
        (raw(log_dict(schema_version=99)), "unknown_schema_version"),
        (raw(log_dict(schema_version=0)), "unknown_schema_version"),
        (raw(log_dict(schema_version="1")), "unknown_schema_version"),
        (raw(log_dict(schema_version=True)), "unknown_schema_version"),
        (
            raw(log_dict(payload={"service": "x", "timestamp": "2026-11-20T10:00:00Z"})),
            "validation_error",
        ),
        (raw(log_dict(trace_id="not-a-trace-id")), "validation_error"),
    ],
)
def test_each_kind_of_bad_input_has_its_own_reason(data: bytes | None, code: str) -> None:
    assert reason(data) == code


def test_a_missing_kind_is_refused_even_on_a_topic_of_one_kind() -> None:
    event = log_dict()
    del event["kind"]
    assert reason(raw(event)) == "unknown_kind"


def test_the_reason_names_the_missing_field() -> None:
    event = log_dict()
    del event["payload"]["message"]  # type: ignore[attr-defined]
    with pytest.raises(InvalidEvent) as err:
        decode_event(raw(event), "log")
    assert "payload.message" in str(err.value)
    assert "Field required" in str(err.value)


def test_the_schema_version_header_stands_in_for_a_body_without_one() -> None:
    event = log_dict()
    del event["schema_version"]
    decoded = decode_event(raw(event), "log", [("schema-version", b"1")])
    assert decoded.schema_version == 1
    assert reason(raw(event), "log", [("schema-version", b"7")]) == "unknown_schema_version"


def test_a_traceparent_header_fills_in_a_missing_trace_id_but_never_replaces_one() -> None:
    header = [("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01".encode())]
    assert decode_event(raw(log_dict()), "log", header).trace_id == TRACE
    own = "0" * 31 + "1"
    assert decode_event(raw(log_dict(trace_id=own)), "log", header).trace_id == own


@pytest.mark.parametrize(
    "value",
    [None, "", "00-zz-00f067aa0ba902b7-01", f"00-{'0' * 32}-00f067aa0ba902b7-01", "garbage"],
)
def test_invalid_traceparents_give_no_trace_id(value: str | None) -> None:
    assert trace_id_from_traceparent(value) is None


def test_encoding_and_decoding_round_trip_with_headers_and_natural_key() -> None:
    event = decode_event(raw(log_dict(trace_id=TRACE)), "log")
    headers = kafka_headers(event)
    assert ("schema-version", b"1") in headers
    traceparent = dict(headers)["traceparent"]
    assert trace_id_from_traceparent(traceparent) == TRACE
    assert decode_event(encode_event(event), "log", headers) == event
    assert kafka_key(event) == b"payments-api"


def test_the_fast_path_and_the_general_path_agree() -> None:
    # Without an expected kind, decode_event takes the general path only.
    data = raw(log_dict(trace_id=TRACE))
    assert decode_event(data, "log") == decode_event(data, None)


@pytest.mark.parametrize("kind", [["log"], {"log": 1}, 7, None])
def test_a_kind_that_is_not_a_string_is_an_unknown_kind_not_a_crash(kind: object) -> None:
    # found by the webhook fuzz test: a list here used to raise TypeError (unhashable)
    assert reason(raw(log_dict(kind=kind)), None) == "unknown_kind"
    assert reason(raw(log_dict(kind=kind)), "log") == "unknown_kind"
