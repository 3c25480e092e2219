"""The walking skeleton end to end: events produced to real Kafka arrive in real PostgreSQL,
exactly once, and bad input goes to the dead-letter topic without stopping anything."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from opsassist.bus.deadletter import read_dead_letter_headers
from opsassist.bus.producer import produce_events
from tests.conftest import wait_for
from tests.integration.events import (
    commit_event,
    count_rows,
    fetch,
    log_event,
    read_topic,
    send_raw,
    ticket_event,
)

pytestmark = pytest.mark.integration

N = 10_000


def test_ten_thousand_events_of_each_kind_arrive_as_exactly_thirty_thousand_rows(
    settings, worker_process
):
    events = (
        [log_event(i) for i in range(N)]
        + [commit_event(i) for i in range(N)]
        + [ticket_event(i) for i in range(N)]
    )
    worker = worker_process()
    worker.start()
    sent = asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, events))
    assert sent == 3 * N

    def all_rows() -> int:
        return sum(count_rows(settings, t) for t in ("log_events", "commits", "tickets"))

    wait_for(lambda: all_rows() >= 3 * N, 180, f"{3 * N} rows")
    assert count_rows(settings, "log_events") == N
    assert count_rows(settings, "commits") == N
    assert count_rows(settings, "tickets") == N
    assert count_rows(settings, "ticket_events") == N
    ids = {
        r["event_id"]
        for r in asyncio.run(fetch(settings.database_url, "SELECT event_id FROM log_events"))
    }
    assert ids == {f"log-{i}" for i in range(N)}
    metrics = worker.metrics()
    assert f'opsassist_events_written_total{{topic="{settings.topic_logs}"}} {float(N)}' in metrics

    def lag(partition: int) -> float | None:
        prefix = (
            f'opsassist_consumer_lag_messages{{partition="{partition}",'
            f'topic="{settings.topic_logs}"}} '
        )
        for line in worker.metrics().splitlines():
            if line.startswith(prefix):
                return float(line[len(prefix) :])
        return None

    # once the offsets of everything written are committed, no partition lags
    partitions = range(settings.topic_partitions)
    wait_for(lambda: all(lag(p) == 0.0 for p in partitions), 60, "consumer lag to reach 0")
    text = worker.metrics()
    for p in partitions:
        labels = f'partition="{p}",topic="{settings.topic_logs}"'
        assert f"opsassist_consumer_lag_seconds{{{labels}}} 0.0" in text
    # all log events share one key (service), so one partition holds them and was committed
    commit_prefix = "opsassist_consumer_last_commit_timestamp_seconds{partition="
    committed = [
        line
        for line in text.splitlines()
        if line.startswith(commit_prefix) and settings.topic_logs in line
    ]
    assert len(committed) == 1
    assert float(committed[0].rsplit(" ", 1)[1]) > 1.7e9  # a Unix time
    assert f'opsassist_stream_buffer_events{{topic="{settings.topic_logs}"}}' in text
    assert f'opsassist_batch_processing_seconds_count{{topic="{settings.topic_logs}"}}' in text


def test_malformed_events_go_to_dead_letter_with_reason_and_the_rest_are_written(
    settings, worker_process
):
    good = [log_event(i) for i in range(6)]
    missing_field = orjson.loads(good[0].model_dump_json())
    missing_field["id"] = "missing-message"
    del missing_field["payload"]["message"]
    wrong_version = orjson.loads(good[0].model_dump_json())
    wrong_version["id"] = "from-the-future"
    wrong_version["schema_version"] = 99
    key = b"payments-api"  # one key: all on one partition, bad ones between good ones
    raw = [
        (key, good[0].model_dump_json().encode()),
        (key, b"\x00\xffnot json at all"),
        (key, good[1].model_dump_json().encode()),
        (key, orjson.dumps(wrong_version)),
        (key, good[2].model_dump_json().encode()),
        (key, orjson.dumps(missing_field)),
        *[(key, e.model_dump_json().encode()) for e in good[3:]],
    ]
    worker = worker_process()
    worker.start()
    asyncio.run(send_raw(settings.kafka_bootstrap_servers, settings.topic_logs, raw))

    wait_for(lambda: count_rows(settings, "log_events") >= len(good), 60, "the valid events")
    dead = asyncio.run(read_topic(settings.kafka_bootstrap_servers, settings.topic_dead_letter, 3))
    assert len(dead) == 3
    by_code = {read_dead_letter_headers(r.headers)["code"]: r for r in dead}
    assert set(by_code) == {"invalid_json", "unknown_schema_version", "validation_error"}
    assert by_code["invalid_json"].value == b"\x00\xffnot json at all"  # original bytes, as sent
    missing = read_dead_letter_headers(by_code["validation_error"].headers)
    assert "payload.message" in missing["reason"] and "Field required" in missing["reason"]
    assert "99" in read_dead_letter_headers(by_code["unknown_schema_version"].headers)["reason"]
    for record in dead:
        headers = read_dead_letter_headers(record.headers)
        assert headers["source-topic"] == settings.topic_logs
        assert int(headers["source-offset"]) in range(len(raw))
    assert count_rows(settings, "log_events") == len(good)


def test_a_row_the_database_refuses_is_dead_lettered_alone(settings, worker_process):
    # A constraint stands in for anything PostgreSQL may refuse that validation let through.
    asyncio.run(
        fetch(
            settings.database_url,
            "ALTER TABLE log_events ADD CONSTRAINT no_poison CHECK (message <> 'poison')",
        )
    )
    events = [log_event(i) for i in range(20)]
    refused = log_event(99, message="poison")
    worker = worker_process()
    worker.start()
    asyncio.run(
        produce_events(
            settings.kafka_bootstrap_servers, settings.topics, [*events[:10], refused, *events[10:]]
        )
    )
    wait_for(lambda: count_rows(settings, "log_events") >= 20, 60, "the 20 storable events")
    dead = asyncio.run(read_topic(settings.kafka_bootstrap_servers, settings.topic_dead_letter, 1))
    assert len(dead) == 1
    headers = read_dead_letter_headers(dead[0].headers)
    assert headers["code"] == "db_rejected"
    assert "no_poison" in headers["reason"]
    assert orjson.loads(dead[0].value)["id"] == "log-99"
    assert count_rows(settings, "log_events") == 20


def test_ticket_updates_become_versions_with_history(settings, worker_process):
    worker = worker_process()
    worker.start()
    produce = lambda events: asyncio.run(  # noqa: E731
        produce_events(settings.kafka_bootstrap_servers, settings.topics, events)
    )
    produce([ticket_event(1, 0)])
    wait_for(lambda: count_rows(settings, "tickets") >= 1, 60, "the new ticket")
    # the update, delivered twice, and a stale event that arrives late
    produce(
        [
            ticket_event(1, 2, title="Renamed"),
            ticket_event(1, 2, title="Renamed"),
            ticket_event(1, 1, title="Stale"),
        ]
    )
    wait_for(lambda: count_rows(settings, "ticket_events") >= 3, 60, "the update events")
    wait_for(lambda: count_rows(settings, "ticket_changes") >= 2, 30, "two ticket versions")
    rows = asyncio.run(
        fetch(
            settings.database_url,
            "SELECT version, change_kind, delta FROM ticket_changes ORDER BY version",
        )
    )
    assert [(r["version"], r["change_kind"]) for r in rows] == [(1, "insert"), (2, "update")]
    delta = orjson.loads(rows[1]["delta"])
    assert delta["title"] == "Renamed"
    assert "body" not in delta  # only what changed
    title = asyncio.run(fetch(settings.database_url, "SELECT title, version FROM tickets"))
    assert [(r["title"], r["version"]) for r in title] == [("Renamed", 2)]
