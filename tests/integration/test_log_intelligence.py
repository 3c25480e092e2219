"""Log intelligence in the worker, on real Kafka and PostgreSQL: a Loghub file replayed through
Kafka (in small batches, across a worker restart) ends with the offline CLI's templates in
``log_events`` and ``log_templates``; a burst of errors opens an incident that a restarted worker
later resolves, each change in ``incident_changes``; two workers taking turns on a service label
its lines as one miner would."""

from __future__ import annotations

import asyncio
import csv
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from opsassist.bus.producer import produce_events
from opsassist.cli.logs import mine_labels, read_lines
from opsassist.schemas import LogEvent, LogPayloadV1
from opsassist.settings import Settings
from opsassist.store.pool import create_pool
from opsassist.store.sink import EventSink, Origin, log_row
from opsassist.streams.agents.logs import LogIntelligence
from opsassist.streams.agents.sanitize import EventSanitizer
from opsassist.streams.enrich import Enricher, compile_log_format
from opsassist.streams.logs import TemplateMiner
from opsassist.streams.logs._masking import template_pattern
from opsassist.streams.privacy import Redactor
from tests.conftest import ENV, run_cli, wait_for
from tests.integration.events import T0, count_rows, fetch

pytestmark = pytest.mark.integration

ANDROID = ENV.eval_data / "loghub_2k" / "Android" / "Android_2k.log"
ANDROID_FORMAT = "<Date> <Time> <Pid> <Tid> <Level> <Component>: <Content>"


def produce(settings, events: list[LogEvent]) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, events))


def query(settings, sql: str, *args: object) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [dict(r) for r in asyncio.run(fetch(settings.database_url, sql, *args))]


def loghub_events(path: Path, log_format: str, service: str) -> list[LogEvent]:
    """One event per line, its message the line's <Content> as the CLI splits it off."""
    lines = read_lines(path, compile_log_format(log_format), None)
    return [
        LogEvent(
            id=f"{service}-{line.number}",
            schema_version=1,
            source="loghub",
            occurred_at=T0,
            payload=LogPayloadV1(
                timestamp=T0 + timedelta(milliseconds=line.number),
                service=service,
                level=line.level or None,
                message=line.message,
            ),
        )
        for line in lines
    ]


Labels = dict[int, tuple[str, str]]  # line number -> template id, template


def cli_labels(settings, path: Path, log_format: str | None, service: str, out: Path) -> Labels:  # type: ignore[no-untyped-def]
    layout = ["--format", log_format] if log_format else []
    done = run_cli(settings, "templates", str(path), *layout,
                   "--service", service, "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as handle:
        return {
            int(r["LineId"]): (r["EventId"], r["EventTemplate"]) for r in csv.DictReader(handle)
        }


def test_a_loghub_file_replayed_through_kafka_gives_the_cli_templates_in_postgres(
    settings, worker_process, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    events = loghub_events(ANDROID, ANDROID_FORMAT, "android")
    # The worker mines what it stores: the lines after enrichment and redaction (a few Android
    # lines hold IP addresses and the like). The offline CLI is run over that same text.
    stored_text = [
        str(event.payload.message)
        for event, _ in EventSanitizer(Enricher(), Redactor()).sanitize(events)
    ]
    assert sum(a != e.payload.message for a, e in zip(stored_text, events, strict=True)) > 0
    as_stored = tmp_path / "android-as-stored.log"
    as_stored.write_text("\n".join(stored_text) + "\n")
    expected = cli_labels(settings, as_stored, None, "android", tmp_path / "cli.csv")
    assert len(expected) == len(events) == 2000
    # The file's templates generalize after some of their lines were stored (so those lines
    # must be re-labelled in PostgreSQL), at lines 34, 65, 384 and 1406 of this file.
    miner = TemplateMiner("android")
    generalized_at = [text for text in stored_text if miner.add(text).changes]
    assert generalized_at

    # Small batches, and a restart half-way: the second worker continues from the stored miner.
    first = worker_process(worker_batch_size=150)
    first.start()
    produce(settings, events[:1000])
    wait_for(lambda: count_rows(settings, "log_events") == 1000, 90, "the first half stored")
    wait_for(
        lambda: bool(
            query(settings, "SELECT 1 FROM log_template_miners WHERE service = 'android'")
        ),
        30,
        "the first half's templates stored",
    )
    first.stop()
    second = worker_process(worker_batch_size=150)
    second.start()
    produce(settings, events[1000:])

    def stored_labels() -> dict[int, tuple[str, str]]:
        rows = query(
            settings,
            """SELECT e.event_id, e.template_id, t.template FROM log_events e LEFT JOIN
               log_templates t ON t.service = e.service AND t.template_id = e.template_id""",
        )
        return {int(str(r["event_id"]).rsplit("-", 1)[1]): (r["template_id"], r["template"])
                for r in rows}  # type: ignore[misc]  # fmt: skip

    wait_for(lambda: stored_labels() == expected, 120, "PostgreSQL to hold the CLI's labels")

    # The templates: the active ones are exactly the CLI's; the ones that generalized are kept,
    # marked merged into a template that exists, each change a version in their history.
    templates = query(settings, "SELECT * FROM log_templates WHERE service = 'android'")
    active = {(t["template_id"], t["template"]) for t in templates if t["status"] == "active"}
    assert active == set(expected.values())
    merged = [t for t in templates if t["status"] == "merged"]
    assert merged, "a generalization across batches was stored"
    active_ids = {template_id for template_id, _ in active}
    assert all(t["merged_into"] in active_ids for t in merged)
    counts: dict[str, int] = {}
    for template_id, _ in expected.values():
        counts[template_id] = counts.get(template_id, 0) + 1
    assert {
        t["template_id"]: t["line_count"] for t in templates if t["status"] == "active"
    } == counts
    history = query(
        settings,
        """SELECT t.template_id, c.version, c.change_kind, c.delta FROM log_template_changes c
           JOIN log_templates t ON t.id = c.template_row_id ORDER BY t.template_id, c.version""",
    )
    merges = [h for h in history if h["change_kind"] == "update"]
    assert {h["template_id"] for h in merges} == {t["template_id"] for t in merged}
    for change in merges:
        delta = orjson.loads(change["delta"])  # type: ignore[arg-type]
        assert delta["status"] == "merged" and delta["merged_into"] in active_ids
        assert change["version"] == 2

    # Every line's parameters are what its template's wildcards stand for in its message.
    for row in query(settings, "SELECT message, template_id, template_params FROM log_events"):
        template = dict(active)[row["template_id"]]  # type: ignore[index]
        found = template_pattern(template).match(str(row["message"]).strip())
        assert found is not None
        assert list(found.groups()) == row["template_params"]
    # The stored messages are the redacted text the CLI mined.
    messages = {int(str(r["event_id"]).rsplit("-", 1)[1]): r["message"]
                for r in query(settings, "SELECT event_id, message FROM log_events")}  # fmt: skip
    assert messages == {
        int(e.id.rsplit("-", 1)[1]): text for e, text in zip(events, stored_text, strict=True)
    }


def minute_of_logs(minute: int, *, errors: int, infos: int = 20, first: int = 0) -> list[LogEvent]:
    """``infos`` ordinary lines and ``errors`` timeouts of payments-api in one minute."""
    events = []
    for n in range(first, infos + errors):
        is_error = n >= infos
        ts = T0 + timedelta(minutes=minute, seconds=n * 50 / (infos + errors))
        message = (
            f"Timeout connecting to db-{n % 3}:5432 after {1000 + n} ms"
            if is_error
            else f"GET /orders/{minute * 100 + n} 200 in {n + 3} ms"
        )
        events.append(
            LogEvent(
                id=f"pay-{minute}-{n}",
                schema_version=1,
                source="test",
                occurred_at=ts,
                payload=LogPayloadV1(
                    timestamp=ts,
                    service="payments-api",
                    level="ERROR" if is_error else "INFO",
                    message=message,
                ),
            )
        )
    return events


def test_an_error_burst_opens_an_incident_that_resolves_after_a_restart(
    settings, worker_process
) -> None:  # type: ignore[no-untyped-def]
    # Ten ordinary minutes (one error each: the baseline), then two minutes of 60 timeouts.
    before = [e for m in range(10) for e in minute_of_logs(m, errors=1)]
    burst = minute_of_logs(10, errors=60) + minute_of_logs(11, errors=60)
    worker = worker_process()
    worker.start()
    produce(settings, before + burst + minute_of_logs(12, errors=0)[:1])

    def incidents() -> list[dict[str, object]]:
        return query(settings, "SELECT * FROM incidents WHERE window_seconds = 60")

    wait_for(lambda: len(incidents()) == 1, 90, "an incident opened by the burst")
    wait_for(lambda: count_rows(settings, "log_summaries") >= 12, 30, "the closed windows stored")
    opened = incidents()[0]
    assert opened["status"] == "open" and opened["severity"] == "critical"
    assert opened["opened_at"] == T0 + timedelta(minutes=10)
    timeout_id = query(
        settings,
        "SELECT template_id FROM log_templates WHERE template LIKE 'Timeout connecting to%'",
    )[0]["template_id"]
    assert timeout_id in opened["template_ids"]  # type: ignore[operator]
    assert "times its baseline" in str(opened["narrative"])
    window = query(
        settings,
        """SELECT * FROM log_summaries WHERE service = 'payments-api' AND window_seconds = 60
           AND window_start = $1""",
        T0 + timedelta(minutes=10),
    )[0]
    assert (window["total"], window["errors"], window["produced_by"]) == (80, 60, "deterministic")
    assert window["baseline_errors"] == 1.0 and window["summary"] is None
    top_error = orjson.loads(window["top_error_templates"])[0]  # type: ignore[arg-type]
    assert (top_error["template_id"], top_error["errors"]) == (timeout_id, 60)
    assert window["narrative"].startswith(  # type: ignore[union-attr]
        "payments-api: 60 errors in 1 min, 60 times its baseline; 100% are 'Timeout connecting"
    )

    # A new worker takes over: it loads the open incident, and quiet minutes resolve it.
    worker.stop()
    again = worker_process()
    again.start()
    quiet = [e for m in range(12, 17) for e in minute_of_logs(m, errors=0)][1:]
    produce(settings, quiet + minute_of_logs(17, errors=0)[:1])
    wait_for(lambda: incidents()[0]["status"] == "resolved", 90, "the incident resolved")
    assert len(incidents()) == 1, "the restarted worker continued the incident, not a new one"
    resolved = incidents()[0]
    assert resolved["resolved_at"] == T0 + timedelta(minutes=15)  # three quiet windows: 12-14

    history = query(
        settings,
        "SELECT version, change_kind, changed_by, delta FROM incident_changes "
        "WHERE incident_id = $1 ORDER BY version",
        resolved["id"],
    )
    deltas = [orjson.loads(h["delta"]) for h in history]  # type: ignore[arg-type]
    assert [h["version"] for h in history] == list(range(1, len(history) + 1))
    assert history[0]["change_kind"] == "insert" and deltas[0]["status"] == "open"
    assert deltas[0]["last_transition"] == "opened"
    assert deltas[-1]["status"] == "resolved" and deltas[-1]["last_transition"] == "resolved"
    assert all(h["changed_by"] == "agent:logs" for h in history)


async def test_two_workers_taking_turns_on_a_service_label_as_one_miner(database_url) -> None:  # type: ignore[no-untyped-def]
    """Worker A mines, worker B takes the service over (loading A's templates), A gets it back
    (seeing that B mined it since, it loads again): the stored labels are one miner's."""
    events = loghub_events(ANDROID, ANDROID_FORMAT, "android")
    pool = await create_pool(database_url)
    try:
        sink = EventSink(pool)
        settings = Settings(DATABASE_URL=database_url)
        a = LogIntelligence.from_settings(settings, pool)
        b = LogIntelligence.from_settings(settings, pool)
        for worker, start, end in [(a, 0, 700), (b, 700, 1400), (a, 1400, 2000)]:
            for offset in range(start, end, 100):
                batch = events[offset : min(offset + 100, end)]
                fields = await worker.before_write(batch)
                rows = [log_row(e, Origin("t", 0, int(e.id.rsplit("-", 1)[1])), f)
                        for e, f in zip(batch, fields, strict=True)]  # fmt: skip
                await sink.write_logs(rows)
                await worker.after_write(batch)
        stored = {
            int(r["event_id"].rsplit("-", 1)[1]): r["template_id"]
            for r in await pool.fetch("SELECT event_id, template_id FROM log_events")
        }
        miners = await pool.fetch("SELECT worker_id FROM log_template_miners")
    finally:
        await pool.close()
    one_miner = mine_labels(TemplateMiner("android"), (e.payload.message for e in events))
    assert stored == {n: label for n, (label, _) in enumerate(one_miner, start=1)}
    assert len(miners) == 1 and str(miners[0]["worker_id"]).startswith(settings.worker_id)
