"""Tickets are triaged as the worker writes them: category, priority, team, confidence,
abstention and SLA due time land in the ticket's row, and a later update that changes the
decision is a new version in the ticket's history."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from opsassist.bus.producer import produce_events
from opsassist.schemas import LATEST_VERSION, TicketEvent, TicketPayloadV2
from tests.conftest import wait_for
from tests.integration.events import T0, count_rows, fetch

pytestmark = pytest.mark.integration


def ticket(external_id: str, title: str, body: str = "", source: str = "jira",
           minutes: int = 0) -> TicketEvent:  # fmt: skip
    updated = T0 + timedelta(minutes=minutes)
    return TicketEvent(
        id=f"{external_id}-{minutes}", schema_version=2, source="test", occurred_at=updated,
        payload=TicketPayloadV2(external_id=external_id, source_system=source, title=title,
                                body=body, status="open", created_at=T0, updated_at=updated),
    )  # fmt: skip


def rows(settings) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    found = asyncio.run(
        fetch(
            settings.database_url,
            """
        SELECT external_id, category, suggested_category, priority, team, triage_confidence,
               needs_triage, triage_layer, triage, sla_due_at, created_at, version
        FROM tickets""",
        )
    )
    return {r["external_id"]: dict(r) for r in found}


def test_tickets_are_triaged_on_write_and_retriaged_on_update(settings, worker_process) -> None:  # type: ignore[no-untyped-def]
    worker = worker_process()
    worker.start()
    produce = lambda events: asyncio.run(  # noqa: E731
        produce_events(settings.kafka_bootstrap_servers, settings.topics, events)
    )
    produce(
        [
            ticket("OPS-1", "Production down", "checkout outage since 10:00, all customers"),
            ticket("HR-1", "Question about my payslip", source="hr-portal"),
            ticket("OPS-2", "Hello", "something odd"),
        ]
    )
    wait_for(lambda: count_rows(settings, "tickets") >= 3, 60, "three triaged tickets")
    now = rows(settings)

    outage = now["OPS-1"]
    assert (outage["category"], outage["priority"], outage["triage_layer"]) == (
        "incident",
        "P1",
        "rule",
    )
    assert outage["needs_triage"] is False
    assert outage["sla_due_at"] == outage["created_at"] + timedelta(hours=4)  # P1: 4 hours
    details = orjson.loads(outage["triage"])  # type: ignore[arg-type]
    assert details["explanation"]["rule"] == "outage-or-data-loss"

    assert now["HR-1"]["category"] == "hr"

    vague = now["OPS-2"]
    assert vague["category"] is None and vague["needs_triage"] is True  # no rule, no model
    assert vague["team"] == "triage" and vague["priority"] == "P3"

    # the vague ticket is updated into an outage: triaged again, as a new version
    produce([ticket("OPS-2", "Hello", "site down for everyone: outage", minutes=5)])
    wait_for(lambda: rows(settings)["OPS-2"]["version"] == 2, 60, "the re-triaged version")
    again = rows(settings)["OPS-2"]
    assert (again["category"], again["priority"], again["needs_triage"]) == (
        "incident",
        "P1",
        False,
    )
    history = asyncio.run(
        fetch(
            settings.database_url,
            """
        SELECT c.version, c.delta FROM ticket_changes c JOIN tickets t ON t.id = c.ticket_id
        WHERE t.external_id = 'OPS-2' ORDER BY c.version""",
        )
    )
    delta = orjson.loads(history[1]["delta"])
    assert delta["category"] == "incident" and delta["priority"] == "P1"
    assert delta["needs_triage"] is False

    metrics = worker.metrics()
    assert 'opsassist_triage_decisions_total{layer="rule"} 3.0' in metrics
    assert "opsassist_triage_abstentions_total 1.0" in metrics


def test_the_worker_takes_v1_and_v2_ticket_events_alike(settings, worker_process) -> None:  # type: ignore[no-untyped-def]
    """A producer still on ticket events v1 (``reporter``) and one on v2 (``reporter_id``):
    both land with the reporter in ``tickets.reporter_id``, and ``ticket_events`` keeps each
    payload as the worker read it (upcast: v2)."""
    from aiokafka import AIOKafkaProducer

    fixtures = Path(__file__).parents[1] / "fixtures" / "events"
    worker = worker_process()
    worker.start()

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            for name in ("ticket.v1.json", "ticket.v2.json"):
                raw = (fixtures / name).read_bytes()
                version = str(orjson.loads(raw)["schema_version"]).encode()
                await producer.send_and_wait(
                    settings.topic_tickets, raw, key=name.encode(),
                    headers=[("schema-version", version)],
                )  # fmt: skip
        finally:
            await producer.stop()

    asyncio.run(send())
    wait_for(lambda: count_rows(settings, "tickets") >= 2, 60, "both tickets")
    stored = asyncio.run(
        fetch(
            settings.database_url,
            "SELECT t.external_id, t.reporter_id, e.schema_version, e.payload "
            "FROM tickets t JOIN ticket_events e ON e.event_id = t.last_event_id",
        )
    )
    by_key = {r["external_id"]: r for r in stored}
    # sent as v1 `reporter` and as v2 `reporter_id`: both upcast to reporter_id, then redacted
    # (a person's identity; no pseudonym key in this test, so a mask)
    assert by_key["OPS-101"]["reporter_id"] == "<PERSON>"
    assert by_key["OPS-102"]["reporter_id"] == "<PERSON>"
    for row in stored:
        assert row["schema_version"] == LATEST_VERSION["ticket"]  # 2 until ticket events v3
        assert "reporter" not in orjson.loads(row["payload"])


def test_the_history_names_who_triaged_each_worker_written_ticket(  # type: ignore[no-untyped-def]
    settings, worker_process, tmp_path
) -> None:
    """Each version the worker writes names the decider as its actor: ``agent:triage``, with the
    trained model's version where the model decided; rules leave the model empty."""
    from opsassist.streams.triage import ModelSpec, train_model
    from tests.unit.triage.examples import EXAMPLES

    model = train_model(EXAMPLES, ModelSpec(c_grid=(4.0,)))
    model_path = tmp_path / "triage.model"
    model_path.write_bytes(model.to_bytes())
    worker = worker_process(triage_model_path=model_path)
    worker.start()
    asyncio.run(
        produce_events(
            settings.kafka_bootstrap_servers,
            settings.topics,
            [
                ticket("OPS-1", "Production down", "checkout outage since 10:00, all customers"),
                ticket("Q-1", "How do I change the port?", "How can I configure it? Where?"),
            ],
        )
    )
    wait_for(lambda: count_rows(settings, "tickets") >= 2, 60, "both tickets")
    history = asyncio.run(
        fetch(
            settings.database_url,
            """
        SELECT t.external_id, t.triage_layer, t.changed_by AS row_changed_by, c.version,
               c.changed_by, c.model, c.prompt_version
        FROM ticket_changes c JOIN tickets t ON t.id = c.ticket_id ORDER BY t.external_id""",
        )
    )
    found = {
        h["external_id"]: (h["triage_layer"], h["row_changed_by"], h["version"],
                           h["changed_by"], h["model"], h["prompt_version"])
        for h in history
    }  # fmt: skip
    assert found == {
        "OPS-1": ("rule", "agent:triage", 1, "agent:triage", None, None),
        "Q-1": ("model", "agent:triage", 1, "agent:triage", model.version, None),
    }
