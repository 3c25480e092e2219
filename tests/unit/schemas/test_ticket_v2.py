"""Ticket events v2 (``reporter`` renamed ``reporter_id``): v1 events are upcast on decode, by
either path and with either way of saying the version, and v2 ones decode as they are."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from opsassist.schemas import (
    LATEST_VERSION,
    InvalidEvent,
    TicketEvent,
    decode_event,
    encode_event,
    kafka_headers,
)
from opsassist.schemas.registry import UPCASTERS, upcast

FIXTURES = Path(__file__).parents[2] / "fixtures" / "events"


def v1_event(**payload_changes: object) -> dict[str, object]:
    event: dict[str, object] = orjson.loads((FIXTURES / "ticket.v1.json").read_bytes())
    event["payload"] = {**event["payload"], **payload_changes}  # type: ignore[dict-item]
    return event


def test_a_v1_ticket_is_upcast_with_its_reporter_as_reporter_id() -> None:
    event = decode_event(orjson.dumps(v1_event()), "ticket")
    assert isinstance(event, TicketEvent)
    assert event.schema_version == LATEST_VERSION["ticket"]  # 2 until ticket events v3
    assert event.payload.reporter_id == "grace@example.com"
    assert "reporter" not in event.payload.model_dump()


def test_a_v1_ticket_told_by_its_header_alone_is_upcast_too() -> None:
    body = v1_event()
    del body["schema_version"]
    event = decode_event(orjson.dumps(body), "ticket", [("schema-version", b"1")])
    assert isinstance(event, TicketEvent)
    assert event.payload.reporter_id == "grace@example.com"


def test_a_v1_ticket_without_a_reporter_upcasts_to_none() -> None:
    body = v1_event()
    del body["payload"]["reporter"]  # type: ignore[attr-defined]
    event = decode_event(orjson.dumps(body), "ticket")
    assert isinstance(event, TicketEvent)
    assert event.payload.reporter_id is None


def test_a_v2_ticket_takes_the_fast_path_and_agrees_with_the_general_one() -> None:
    data = (FIXTURES / "ticket.v2.json").read_bytes()
    fast = decode_event(data, "ticket")
    assert fast == decode_event(data, None)
    assert isinstance(fast, TicketEvent)
    assert fast.payload.reporter_id == "5b10ac8d82e05b22cc7d4ef5"
    assert decode_event(encode_event(fast), "ticket", kafka_headers(fast)) == fast
    assert dict(kafka_headers(fast))["schema-version"] == str(LATEST_VERSION["ticket"]).encode()


def test_a_v1_field_in_a_v2_event_is_not_read_as_the_v2_one() -> None:
    # v2 has no `reporter`: a producer that declares v2 but sends the v1 field loses nothing
    # silently into reporter_id, it is simply ignored like any unknown field
    body = v1_event()
    body["schema_version"] = 2
    event = decode_event(orjson.dumps(body), "ticket")
    assert isinstance(event, TicketEvent)
    assert event.payload.reporter_id is None


def test_a_version_newer_than_the_code_is_refused() -> None:
    body = v1_event()
    body["schema_version"] = 4  # 3 until ticket events v3
    with pytest.raises(InvalidEvent, match=r"known: 1\.\.3"):
        decode_event(orjson.dumps(body), "ticket")


def test_the_upcaster_only_renames() -> None:
    payload = {"title": "t", "reporter": "r", "labels": ["a"]}
    # one step at a time: the v1 -> v2 step itself (``upcast`` goes on to the newest version)
    v1_to_v2 = UPCASTERS[("ticket", 1)]
    assert v1_to_v2(payload) == {"title": "t", "reporter_id": "r", "labels": ["a"]}
    assert upcast("ticket", LATEST_VERSION["ticket"], {"reporter_id": "x"}) == {"reporter_id": "x"}


def test_a_v2_ticket_is_upcast_to_v3_with_no_comment() -> None:
    body = v1_event(reporter_id="grace@example.com")
    body["schema_version"] = 2
    event = decode_event(orjson.dumps(body), "ticket")
    assert isinstance(event, TicketEvent)
    assert event.schema_version == 3
    assert event.payload.comment is None
    assert event.payload.reporter_id == "grace@example.com"


def test_a_v3_ticket_with_a_comment_decodes_as_it_is() -> None:
    data = (FIXTURES / "ticket.v3.json").read_bytes()
    event = decode_event(data, "ticket")
    assert event == decode_event(data, None)
    assert isinstance(event, TicketEvent) and event.payload.comment is not None
    assert (event.payload.comment.id, event.payload.comment.author_id) == ("2001", "hubot")
    assert decode_event(encode_event(event), "ticket", kafka_headers(event)) == event
