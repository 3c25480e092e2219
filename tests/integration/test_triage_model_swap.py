"""Models trained from the tickets stored in PostgreSQL (`opsassist triage train`) are stored in
`triage_models`, and a running worker swaps the newest active one in without a restart: the
next tickets are triaged by it and record its version; a ticket it is unsure of still abstains
and stays open, marked needs-triage."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
import pytest

from opsassist.api.workflow import TicketWorkflow, Updated
from opsassist.bus.producer import produce_events
from opsassist.schemas import TicketEvent, TicketPayloadV2
from opsassist.settings import Settings
from opsassist.store.pool import create_pool
from opsassist.streams.triage import load_config
from tests.conftest import run_cli, wait_for
from tests.integration.events import T0, fetch
from tests.unit.triage.examples import EXAMPLES

pytestmark = pytest.mark.integration

SOURCE_LABEL = {"incident": "bug", "feature_request": "enhancement", "question": "question"}


def ticket(external_id: str, title: str, body: str, labels: list[str] | None = None) -> TicketEvent:
    return TicketEvent(
        id=f"{external_id}-0", schema_version=2, source="test", occurred_at=T0,
        payload=TicketPayloadV2(external_id=external_id, source_system="jira", title=title,
                                body=body, labels=labels or [], status="open", created_at=T0,
                                updated_at=T0 + timedelta(seconds=1)),
    )  # fmt: skip


def stored(settings: Settings, external_id: str) -> dict[str, Any] | None:
    rows = asyncio.run(
        fetch(
            settings.database_url,
            f"""SELECT id, version, category, needs_triage, triage_layer, workflow_status, triage
            FROM tickets WHERE external_id = '{external_id}'""",
        )
    )
    if not rows:
        return None
    row = dict(rows[0])
    row["triage"] = orjson.loads(row["triage"])
    return row


def correct(settings: Settings, ticket_id: int, version: int) -> None:
    async def run() -> None:
        pool = await create_pool(settings.database_url)
        try:
            result = await TicketWorkflow(pool, load_config()).correct_triage(
                ticket_id, category="question", actor="dana", reason="asks how to",
                expected_version=version,
            )  # fmt: skip
            assert isinstance(result, Updated), result
        finally:
            await pool.close()

    asyncio.run(run())


def test_a_model_trained_from_stored_tickets_is_swapped_into_a_running_worker(
    settings: Settings, worker_process: Any
) -> None:
    worker = worker_process(triage_model_poll_seconds=0.5)
    worker.start()
    produce = lambda events: asyncio.run(  # noqa: E731
        produce_events(settings.kafka_bootstrap_servers, settings.topics, events)
    )
    # labelled at the source (the label rules triage them), and one a person will correct
    labelled = [
        ticket(f"L-{i}", e.ticket.title, e.ticket.body, [SOURCE_LABEL[e.label]])
        for i, e in enumerate(EXAMPLES)
    ]
    produce([*labelled, ticket("C-1", "How do I rotate my key", "Where is this documented?")])
    wait_for(lambda: stored(settings, "C-1") is not None, 60, "the first tickets")
    wait_for(lambda: stored(settings, f"L-{len(EXAMPLES) - 1}") is not None, 60, "all labelled")
    before = stored(settings, "C-1")
    assert before is not None and before["needs_triage"] is True  # no model yet
    assert before["triage"]["model_version"] is None
    correct(settings, before["id"], before["version"])

    trained = run_cli(settings, "triage", "train")
    assert trained.returncode == 0, trained.stderr
    version = trained.stdout.strip()
    models = asyncio.run(
        fetch(settings.database_url, "SELECT version, active, trained_on FROM triage_models")
    )
    assert [(m["version"], m["active"]) for m in models] == [(version, True)]
    trained_on = orjson.loads(models[0]["trained_on"])
    assert trained_on["corrections"] == 1 and trained_on["labelled"] == len(EXAMPLES)
    assert trained_on["examples"] == len(EXAMPLES) + 1

    loaded = 'opsassist_triage_model_loads_total{outcome="loaded"} 1.0'
    wait_for(lambda: loaded in worker.metrics(), 30, "the worker to load the stored model")

    produce(
        [
            ticket("N-1", "Crash with exception", "It crashes with an exception, error 500."),
            ticket("N-2", "Zebra quantum", "Marmalade."),  # no word the model knows
        ]
    )
    wait_for(lambda: stored(settings, "N-2") is not None, 60, "tickets after the swap")
    wait_for(lambda: stored(settings, "N-1") is not None, 60, "tickets after the swap")
    known, unsure = stored(settings, "N-1"), stored(settings, "N-2")
    assert known is not None and unsure is not None
    assert (known["category"], known["triage_layer"]) == ("incident", "model")
    assert known["workflow_status"] == "triaged"
    assert known["triage"]["model_version"] == version
    assert (unsure["category"], unsure["needs_triage"]) == (None, True)
    assert unsure["workflow_status"] == "open" and unsure["triage_layer"] == "none"
    assert unsure["triage"]["model_version"] == version

    listed = run_cli(settings, "triage", "models")
    assert listed.returncode == 0 and listed.stdout.startswith(f"{version}\tactive\t")
