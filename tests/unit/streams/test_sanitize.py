"""The worker's first step: log events enriched, every event redacted, a record of what went."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

import opsassist.streams.privacy
from opsassist.bus.deadletter import DeadLetter, read_dead_letter_headers
from opsassist.schemas import LogEvent, encode_event
from opsassist.store.sink import LOG_COLUMNS
from opsassist.streams.agents.handler import LogHandler, TicketHandler
from opsassist.streams.agents.ingest import IngestStage, RawRecord
from opsassist.streams.agents.sanitize import EventSanitizer
from opsassist.streams.enrich import Enricher
from opsassist.streams.privacy import Redactor, load_policy
from tests.integration.events import commit_event, log_event, ticket_event

KEY = b"unit-test-key"


@pytest.fixture
def sanitizer() -> EventSanitizer:
    return EventSanitizer(Enricher(), Redactor(pseudonym_key=KEY))


def _redactions(kind: str) -> float:
    return REGISTRY.get_sample_value("opsassist_pii_redactions_total", {"type": kind}) or 0.0


def test_a_log_line_is_parsed_normalised_and_redacted(sanitizer: EventSanitizer) -> None:
    line = (
        "2026-11-20 10:00:01,250 WARN [main] com.shop.Pay: refund for ana@example.com "
        "traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    )
    event = log_event(1, message=line)
    event = event.model_copy(update={"trace_id": None, "payload": event.payload.model_copy(
        update={"level": None})})  # fmt: skip
    before = _redactions("EMAIL")
    [(redacted, record)] = sanitizer.sanitize([event])
    assert isinstance(redacted, LogEvent)
    p = redacted.payload
    assert p.message.startswith("refund for <EMAIL:") and "ana@example.com" not in p.message
    assert p.level == "WARN"  # from the line, on one scale (a payload's own level would win)
    assert p.timestamp.isoformat() == "2026-11-20T10:00:01.250000+00:00"
    assert p.attributes["format"] == "logger" and p.attributes["component"] == "com.shop.Pay"
    assert redacted.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert record.as_dict() == {"EMAIL": 1, "UNLISTED_FIELD": 1}  # and the attribute "n"
    assert _redactions("EMAIL") == before + 1
    assert event.payload.message == line  # the input is not changed


def test_the_same_value_gets_the_same_pseudonym_across_kinds(sanitizer: EventSanitizer) -> None:
    log = log_event(2, message="login by ana@example.com")
    ticket = ticket_event(2, title="ana@example.com cannot log in")
    [(redacted_log, _)] = sanitizer.sanitize([log])
    [(redacted_ticket, record)] = sanitizer.sanitize([ticket])
    token = redacted_log.payload.message.removeprefix("login by ")
    assert token.startswith("<EMAIL:")
    assert redacted_ticket.payload.title == f"{token} cannot log in"  # type: ignore[union-attr]
    assert record.as_dict() == {"EMAIL": 1}


def test_commits_lose_their_authors_and_an_event_with_nothing_found_is_unchanged(
    sanitizer: EventSanitizer,
) -> None:
    commit = commit_event(3)
    commit = commit.model_copy(update={"payload": commit.payload.model_copy(
        update={"author_name": "Ana Lopez", "author_email": "ana@example.com"})})  # fmt: skip
    [(redacted, record)] = sanitizer.sanitize([commit])
    p = redacted.payload
    assert p.author_name.startswith("<PERSON:") and p.author_email.startswith("<EMAIL:")  # type: ignore[union-attr]
    assert record.as_dict() == {"EMAIL": 1, "PERSON": 1}
    clean = ticket_event(4)
    [(same, nothing)] = sanitizer.sanitize([clean])
    assert same is clean and nothing.as_dict() == {}


def test_a_field_the_policy_drops_keeps_the_payloads_shape(tmp_path: Any) -> None:
    policy = tmp_path / "policy.toml"
    default = (Path(opsassist.streams.privacy.__file__).parent / "default_policy.toml").read_text()
    policy.write_text(default.replace('PERSON = "pseudonymize"', 'PERSON = "drop"')
                      .replace('EMAIL = "pseudonymize"', 'EMAIL = "drop"'))  # fmt: skip
    sanitizer = EventSanitizer(Enricher(), Redactor(load_policy(policy)))
    commit = commit_event(5)
    commit = commit.model_copy(update={"payload": commit.payload.model_copy(
        update={"author_name": "Ana Lopez", "author_email": "ana@example.com"})})  # fmt: skip
    [(redacted, _)] = sanitizer.sanitize([commit])
    assert redacted.payload.author_name == ""  # type: ignore[union-attr]
    assert redacted.payload.author_email is None  # type: ignore[union-attr]
    json.loads(encode_event(redacted))  # still a complete event


class _Sink:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    async def write_logs(self, rows: Sequence[tuple[Any, ...]], actors: Any = None) -> int:
        self.rows.extend(rows)
        return len(rows)

    write_commits = write_tickets = write_logs


class _Breaks(EventSanitizer):
    """Fails on any batch holding the word 'poison', as a bug in a detector would."""

    def sanitize(self, events: Sequence[Any]) -> Any:
        if any("poison" in event.payload.message for event in events):
            raise RuntimeError("detector bug")
        return super().sanitize(events)


@pytest.fixture
def structured_logging() -> Iterator[None]:
    from opsassist.structured_logging import configure_logging

    configure_logging("INFO", "json")
    yield


@pytest.mark.usefixtures("structured_logging")
def test_an_event_that_cannot_be_redacted_is_dead_lettered_never_written() -> None:
    sink = _Sink()
    letters: list[DeadLetter] = []

    async def send(batch: Sequence[DeadLetter]) -> None:
        letters.extend(batch)

    stage = IngestStage(
        LogHandler(sink),  # type: ignore[arg-type]
        send,
        sanitizer=_Breaks(Enricher(), Redactor(pseudonym_key=KEY)),  # type: ignore[arg-type]
    )
    events = [log_event(1, message="ok from ana@example.com"), log_event(2, message="poison")]
    messages = [RawRecord("logs", 0, i, None, encode_event(e)) for i, e in enumerate(events)]
    result = asyncio.run(stage.handle(messages))
    assert (result.written, result.dead_lettered) == (1, 1)
    [row] = sink.rows
    assert row[0] == "log-1" and "ana@example.com" not in row[5]
    # the attribute "n" is not in the allow-list: its value is redacted too
    assert json.loads(row[LOG_COLUMNS.index("redactions")]) == {"EMAIL": 1, "UNLISTED_FIELD": 1}
    [letter] = letters
    assert read_dead_letter_headers(letter.headers)["code"] == "redaction_failed"


def test_every_log_line_is_redacted_whoever_writes_it(capsys: pytest.CaptureFixture[str]) -> None:
    from opsassist.structured_logging import configure_logging

    configure_logging("DEBUG", "json", Redactor())
    try:
        logging.getLogger("faust.topics").debug('send: v=b\'{"mail": "ana@example.com"}\'')
        logging.getLogger("x").warning("failed for %s", "10.20.30.40", extra={"n": 3})
    finally:
        configure_logging("INFO", "json")
    err = capsys.readouterr().err
    assert "ana@example.com" not in err and "10.20.30.40" not in err
    assert "<EMAIL>" in err and "failed for <IP_ADDRESS>" in err


def test_a_ticket_id_holding_personal_data_is_refused_with_the_types_only(
    sanitizer: EventSanitizer,
) -> None:
    ticket = ticket_event(1)
    assert sanitizer.refusal(ticket) is None
    card = ticket.model_copy(update={"payload": ticket.payload.model_copy(
        update={"external_id": "4111111111111111"})})  # fmt: skip
    refusal = sanitizer.refusal(card)
    assert refusal is not None and refusal.code == "personal_data_in_identifier"
    assert "external_id" in str(refusal) and "CREDIT_CARD" in str(refusal)
    assert "4111" not in str(refusal)
    assert sanitizer.refusal(commit_event(1)) is None


def test_the_worker_dead_letters_a_ticket_whose_id_holds_personal_data(
    sanitizer: EventSanitizer,
) -> None:
    ticket = ticket_event(1)
    iban = ticket.model_copy(update={"payload": ticket.payload.model_copy(
        update={"external_id": "GB82WEST12345698765432"})})  # fmt: skip
    sink = _Sink()
    letters: list[DeadLetter] = []

    async def send(batch: Sequence[DeadLetter]) -> None:
        letters.extend(batch)

    stage = IngestStage(TicketHandler(sink), send, sanitizer=sanitizer)  # type: ignore[arg-type]
    record = RawRecord("t.tickets.raw", 0, 7, b"k", encode_event(iban))
    result = asyncio.run(stage.handle([record]))
    assert (result.written, result.dead_lettered, sink.rows) == (0, 1, [])
    [letter] = letters
    assert read_dead_letter_headers(letter.headers)["code"] == "personal_data_in_identifier"


def test_a_ticket_comment_is_redacted_like_the_body_and_keeps_its_shape(
    sanitizer: EventSanitizer,
) -> None:
    from opsassist.schemas import TicketComment, TicketEvent
    from opsassist.store.sink import Origin, ticket_row

    event = ticket_event(7)
    comment = TicketComment(
        id="2001", author_id="octocat", body="mail me at ana@example.com",
        created_at=event.payload.created_at, updated_at=event.payload.updated_at,
    )  # fmt: skip
    event = event.model_copy(
        update={"payload": event.payload.model_copy(update={"comment": comment})}
    )
    [(redacted, record)] = sanitizer.sanitize([event])
    assert isinstance(redacted, TicketEvent)
    stored = redacted.payload.comment
    assert isinstance(stored, TicketComment)
    assert stored.body.startswith("mail me at <EMAIL:") and "ana@example.com" not in stored.body
    assert stored.author_id is not None and stored.author_id.startswith("<PERSON:")
    assert (stored.id, stored.deleted) == ("2001", False)  # the key and the flag kept exact
    assert "UNLISTED_FIELD" not in record.as_dict()
    row = ticket_row(redacted, Origin("ops.tickets", 0, 1))
    assert row.comment is not None and json.loads(row.comment)["body"] == stored.body
