"""PostgreSQL stopped and started again under load (docs/reliability.md): three outages of
different lengths, the last long enough to reach the longest retry wait, end with every row
written once and every bad event dead-lettered once, and every partition's committed offset at
its end. Bad events arrive while PostgreSQL is down: a batch of nothing but bad events meets the
outage when it records its dead letters, which used to fail the batch and leave its partition's
committed offset frozen behind it until a restart (issue 28)."""

from __future__ import annotations

import asyncio

import pytest

from opsassist.bus.producer import produce_events
from tests.conftest import WorkerProcess, wait_for
from tests.integration.events import count_rows, fetch, log_event, send_raw

pytestmark = pytest.mark.integration

TOTAL = 60_000
POISON_PER_OUTAGE = 50
MAX_BACKOFF = 2.0
# Outages end after this many more failed write attempts: one (short), a few (medium), and
# enough that the doubling wait has reached MAX_BACKOFF several times over (long).
OUTAGE_RETRIES = {"short": 1, "medium": 4, "long": 12}


def poison(outage: str) -> list[tuple[bytes | None, bytes]]:
    return [
        (f"{outage}-{i}".encode(), f"not json, {outage} outage, {i}".encode())
        for i in range(POISON_PER_OUTAGE)
    ]


def test_repeated_outages_of_different_lengths_lose_nothing_and_write_nothing_twice(
    settings, worker_process, stoppable_postgres
):
    events = [log_event(i) for i in range(TOTAL)]
    asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, events))
    worker: WorkerProcess = worker_process(
        worker_batch_size=500, worker_retry_max_backoff_seconds=MAX_BACKOFF
    )
    worker.start()

    def retries() -> float:
        return worker.metric("opsassist_batch_write_retries_total", topic=settings.topic_logs)

    progress_before = 5_000
    for outage, attempts in OUTAGE_RETRIES.items():
        wait_for(
            lambda n=progress_before: count_rows(settings, "log_events") >= n,
            120,
            f"{progress_before:,} rows before the {outage} outage",
        )
        before = retries()
        stoppable_postgres.stop()
        asyncio.run(
            send_raw(settings.kafka_bootstrap_servers, settings.topic_commits, poison(outage))
        )
        wait_for(
            lambda b=before, a=attempts: retries() >= b + a,
            120,
            f"{attempts} failed write attempts during the {outage} outage",
        )
        stoppable_postgres.start()
        written = count_rows(settings, "log_events")
        assert written < TOTAL, f"the load was over before the {outage} outage ended"
        progress_before = written + 5_000

    wait_for(lambda: count_rows(settings, "log_events") >= TOTAL, 180, f"all {TOTAL:,} rows")
    expected_dead = POISON_PER_OUTAGE * len(OUTAGE_RETRIES)
    wait_for(
        lambda: count_rows(settings, "dead_letters") >= expected_dead,
        120,
        f"the {expected_dead} bad events sent during the outages recorded as dead letters",
    )

    ids = asyncio.run(fetch(settings.database_url, "SELECT event_id FROM log_events"))
    assert len(ids) == TOTAL
    assert {r["event_id"] for r in ids} == {e.id for e in events}
    dead = asyncio.run(fetch(settings.database_url, "SELECT source_topic, code FROM dead_letters"))
    assert len(dead) == expected_dead
    assert {(r["source_topic"], r["code"]) for r in dead} == {
        (settings.topic_commits, "invalid_json")
    }

    def caught_up() -> bool:
        # committed offsets at the end of every partition: nothing is left behind a batch
        return (
            worker.metric("opsassist_consumer_lag_messages", topic=settings.topic_logs) == 0
            and worker.metric("opsassist_consumer_lag_messages", topic=settings.topic_commits) == 0
        )

    wait_for(caught_up, 60, "every partition's committed offset at its end")
    assert worker.health().status_code == 200
