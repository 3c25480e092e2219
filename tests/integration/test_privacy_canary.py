"""The canary: events carrying known personal values go through the whole pipeline — over the
webhook API and straight onto the raw topics, valid and malformed — and afterwards no table in
PostgreSQL, no log line of the worker or the API and no metric holds any of them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx
import pytest

from schemas import encode_event
from tests.conftest import wait_for
from tests.integration.events import (
    commit_event,
    count_rows,
    fetch,
    read_topic,
    send_raw,
    ticket_event,
    topic_config,
)

pytestmark = pytest.mark.integration

EMAIL = "jane.canary@example.org"
PHONE = "+44 20 7946 0958"
IP = "203.0.113.77"
CARD = "4111 1111 1111 1111"
IBAN = "GB82 WEST 1234 5698 7654 32"
SSN = "078-05-1120"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PASSWORD = "Hunter2Canary!"
USERNAME = "jcanary"
PERSON = "Mariela Canarino"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5"

#: What must never be found; digit groups also without their spaces, as a store might keep them.
CANARIES = [EMAIL, IP, IBAN, SSN, AWS_KEY, PASSWORD, USERNAME, JWT, "Canarino", "Mariela",
            PHONE, PHONE.replace(" ", ""), CARD, CARD.replace(" ", ""),
            IBAN.replace(" ", "")]  # fmt: skip

LOG_LINES = [
    {"service": "checkout", "message": f"payment by {EMAIL} from {IP} with card {CARD}"},
    {"service": "checkout", "message": f"Failed password for invalid user {USERNAME} from {IP}",
     "attributes": {"user": USERNAME, "client_ip": IP, "session_note": PERSON}},
    {"service": "billing", "host": f"{EMAIL}", "message": f"iban {IBAN} ssn {SSN} call {PHONE}"},
    {"service": "auth", "message": f"login password={PASSWORD} key {AWS_KEY} Bearer {JWT}"},
    {"service": "auth", "message": f"2026-11-20 10:00:00,123 ERROR [main] Auth: reported by "
     f"{PERSON} <{EMAIL}>"},
]  # fmt: skip


def _everything_in(database_url: str) -> dict[str, str]:
    """Every table of the database as text, one entry per table."""

    async def dump() -> dict[str, str]:
        conn = await asyncpg.connect(database_url)
        try:
            tables = await conn.fetch(
                "SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
            out = {}
            for t in tables:
                name = f'"{t["schemaname"]}"."{t["tablename"]}"'
                text = await conn.fetchval(f"SELECT string_agg(x::text, E'\\n') FROM {name} x")
                out[name] = text or ""
            return out
        finally:
            await conn.close()

    return asyncio.run(dump())


def _found(text: str) -> list[str]:
    lowered = text.lower()
    return [canary for canary in CANARIES if canary.lower() in lowered]


def test_no_personal_value_reaches_postgres_logs_or_metrics(  # type: ignore[no-untyped-def]
    settings, worker_process, webhook_api
) -> None:
    worker = worker_process(log_level="DEBUG", privacy_pseudonym_key="canary-test-key")
    worker.start()
    api = webhook_api(log_level="DEBUG")
    api.start()

    # over HTTP, as a service posting its logs would
    # and one line the API rejects, whose reason could quote the value (it is stored with the
    # idempotency key's response)
    bad_line = {"service": "checkout", "message": "x", "timestamp": f"{EMAIL} {IP}"}
    body = "\n".join(json.dumps(line) for line in [*LOG_LINES, bad_line]).encode()
    answer = httpx.post(f"{api.url}/ingest/logs", content=body, headers=api.headers(**{
        "Content-Type": "application/x-ndjson", "Idempotency-Key": "canary-1"}))  # fmt: skip
    assert answer.status_code == 202, answer.text
    assert answer.json()["rejected"] == 1, answer.text

    # straight onto the raw topics: a ticket, a commit, and a malformed log event whose
    # validation error quotes a personal value
    ticket = ticket_event(1, title=f"Refund for {EMAIL}")
    ticket = ticket.model_copy(update={"payload": ticket.payload.model_copy(update={
        "body": f"Hi team,\ncard {CARD} was charged twice, call me on {PHONE}.\n"
                f"reported by {PERSON}", "reporter_id": EMAIL})})  # fmt: skip
    commit = commit_event(1)
    commit = commit.model_copy(update={"payload": commit.payload.model_copy(update={
        "author_name": PERSON, "author_email": EMAIL,
        "message": f"fix: stop logging tokens\n\nSigned-off-by: {PERSON} <{EMAIL}>"})})  # fmt: skip
    malformed = json.dumps({"id": "canary-bad", "kind": "log", "schema_version": 1,
        "source": "test", "occurred_at": "2026-11-20T10:00:00Z",
        "payload": {"service": "x", "message": "m", "timestamp": EMAIL}}).encode()  # fmt: skip
    bootstrap = settings.kafka_bootstrap_servers

    async def send() -> None:
        await send_raw(bootstrap, settings.topic_tickets, [(b"t", encode_event(ticket))])
        await send_raw(bootstrap, settings.topic_commits, [(b"c", encode_event(commit))])
        await send_raw(bootstrap, settings.topic_logs, [(b"bad", malformed)])

    asyncio.run(send())
    wait_for(lambda: count_rows(settings, "log_events") == len(LOG_LINES), 60, "the log lines")
    wait_for(lambda: count_rows(settings, "tickets") == 1, 60, "the ticket")
    wait_for(lambda: count_rows(settings, "commits") == 1, 60, "the commit")
    letters = asyncio.run(read_topic(bootstrap, settings.topic_dead_letter, 1))
    assert len(letters) == 1
    # the dead-letter topic keeps the original, for its retention (docs/privacy.md), which the
    # worker set when it created the topics
    assert EMAIL.encode() in letters[0].value
    for topic in (settings.topic_dead_letter, settings.topic_logs):
        config = asyncio.run(topic_config(bootstrap, topic))
        assert config["retention.ms"] == str(168 * 3_600_000), (topic, config["retention.ms"])
    wait_for(lambda: "canary-bad" in worker.log_tail(5000), 30, "the dead letter logged")

    # the events were redacted, not dropped, and each records what it lost
    rows = asyncio.run(fetch(settings.database_url, "SELECT service, message, redactions "
                                                   "FROM log_events ORDER BY service"))  # fmt: skip
    lost: dict[str, int] = {}
    for row in rows:
        for kind, n in json.loads(row["redactions"]).items():
            lost[kind] = lost.get(kind, 0) + n
    for kind in ("EMAIL", "IP_ADDRESS", "CREDIT_CARD", "IBAN", "US_SSN", "PHONE", "SECRET",
                 "USERNAME", "PERSON"):  # fmt: skip
        assert lost.get(kind, 0) >= 1, (kind, lost)
    assert any(row["message"].startswith("payment by <EMAIL:") for row in rows), rows
    [stored] = asyncio.run(fetch(settings.database_url, "SELECT * FROM tickets"))
    assert stored["title"].startswith("Refund for <EMAIL:")
    assert json.loads(stored["redactions"])["CREDIT_CARD"] == 1
    # the same address gets the same pseudonym in every event, so events still correlate
    token = stored["title"].removeprefix("Refund for ")
    assert any(token in row["message"] for row in rows), (token, rows)

    leaks: dict[str, Any] = {}
    for table, text in _everything_in(settings.database_url).items():
        if found := _found(text):
            leaks[f"postgres {table}"] = found
    for name, text in (("worker log", worker.log_tail(100_000)), ("api log", api.log_tail(100_000)),
                       ("worker metrics", worker.metrics()),
                       ("api metrics", httpx.get(f"{api.url}/metrics").text)):  # fmt: skip
        if found := _found(text):
            leaks[name] = found
    assert leaks == {}
    # the test looked where it says it did: the worker logged at DEBUG and the metrics exist
    assert "event written" in worker.log_tail(100_000)
    assert 'opsassist_pii_redactions_total{type="EMAIL"}' in worker.metrics()
