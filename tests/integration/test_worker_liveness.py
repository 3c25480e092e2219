"""The worker's liveness (docs/reliability.md): work pending without progress for longer than
OPSASSIST_WORKER_STALL_SECONDS turns its /healthz into a 503 and shows in
opsassist_worker_stalled_seconds; progress makes it healthy again, and idleness never counts."""

from __future__ import annotations

import asyncio

import pytest

from opsassist.bus.producer import produce_events
from tests.conftest import WorkerProcess, wait_for
from tests.integration.events import count_rows, log_event

pytestmark = pytest.mark.integration

BOUND = 3.0


def test_a_stalled_worker_reports_unhealthy_an_idle_one_does_not(
    settings, worker_process, stoppable_postgres
):
    worker: WorkerProcess = worker_process(
        worker_stall_seconds=BOUND, worker_retry_max_backoff_seconds=1.0
    )
    worker.start()
    first = [log_event(i) for i in range(500)]
    second = [log_event(i) for i in range(500, 1_000)]
    asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, first))
    wait_for(lambda: count_rows(settings, "log_events") >= len(first), 60, "the first rows")

    # a batch that cannot be written: unhealthy once the bound has passed
    stoppable_postgres.stop()
    asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, second))
    wait_for(lambda: worker.health().status_code == 503, 60, "/healthz to report the stall")
    stalled = worker.health().json()
    assert stalled["status"] == "stalled" and stalled["stalled_seconds"] > BOUND
    assert worker.metric("opsassist_worker_stalled_seconds") > BOUND
    assert worker.metric("opsassist_worker_stall_bound_seconds") == BOUND

    # progress again: healthy, and nothing lost
    stoppable_postgres.start()
    wait_for(lambda: worker.health().status_code == 200, 60, "/healthz to recover")
    wait_for(lambda: count_rows(settings, "log_events") >= 1_000, 60, "every row")
    assert count_rows(settings, "log_events") == 1_000

    # then idle (nothing pending) for longer than the bound: healthy
    wait_for(
        lambda: worker.health().json()["seconds_since_last_batch"] > 2 * BOUND,
        60,
        "the worker to have been idle for twice the bound",
    )
    idle = worker.health()
    assert idle.status_code == 200, idle.text
    assert idle.json()["status"] == "ok" and idle.json()["stalled_seconds"] == 0
    assert worker.metric("opsassist_worker_stalled_seconds") == 0
