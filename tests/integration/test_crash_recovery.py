"""A worker killed with SIGKILL in the middle of a run loses nothing and duplicates nothing."""

from __future__ import annotations

import asyncio

import pytest

from opsassist.bus.producer import produce_events
from tests.conftest import wait_for
from tests.integration.events import count_rows, fetch, log_event, ticket_event

pytestmark = pytest.mark.integration

TOTAL = 60_000


def test_worker_killed_mid_run_and_restarted_writes_every_event_exactly_once(
    settings, worker_process
):
    events = [log_event(i) for i in range(TOTAL)]
    tickets = [ticket_event(i) for i in range(2_000)]
    asyncio.run(
        produce_events(settings.kafka_bootstrap_servers, settings.topics, [*events, *tickets])
    )

    worker = worker_process(worker_batch_size=500)
    worker.start()
    wait_for(lambda: count_rows(settings, "log_events") >= 5_000, 120, "the first 5,000 rows")
    worker.kill()
    at_kill = count_rows(settings, "log_events")
    assert at_kill < TOTAL, "the worker finished before it could be killed mid-run"

    restarted = worker_process(worker_batch_size=500)
    restarted.start()
    wait_for(lambda: count_rows(settings, "log_events") >= TOTAL, 180, f"all {TOTAL} rows")
    wait_for(lambda: count_rows(settings, "tickets") >= len(tickets), 60, "all tickets")

    ids = asyncio.run(fetch(settings.database_url, "SELECT event_id FROM log_events"))
    assert len(ids) == TOTAL
    assert {r["event_id"] for r in ids} == {e.id for e in events}
    assert count_rows(settings, "ticket_events") == len(tickets)
    # each ticket's only version is its creation: redelivered events changed nothing
    assert (
        asyncio.run(fetch(settings.database_url, "SELECT max(version) AS v FROM tickets"))[0]["v"]
        == 1
    )
    assert count_rows(settings, "ticket_changes") == len(tickets)
