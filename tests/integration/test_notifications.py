"""``opsassist notify`` as it runs: a real process LISTENing to PostgreSQL, producing to and
consuming from a real Kafka, delivering over HTTP to a receiver on 127.0.0.1 that stands in for
Slack, PagerDuty and a generic webhook (and misbehaves on purpose for some routes)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from opsassist.bus.deadletter import read_dead_letter_headers
from opsassist.infra.processes import free_port
from opsassist.settings import PROJECT_ROOT, Settings
from tests.conftest import run_cli, settings_env, wait_for
from tests.integration.events import fetch, read_topic
from tests.integration.graphql.client import T0, create_user, insert_incident, on_database

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-the-signature"


@dataclass
class Receiver:
    """What arrived per path; ``/flaky`` answers 503 three times then 200, ``/down`` always
    503, every other path 200."""

    port: int = 0
    received: dict[str, list[tuple[dict[str, str], bytes, int]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, path: str, status: int = 200) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b, s in self.received.get(path, []) if s == status]

    def bodies(self, path: str) -> list[dict[str, object]]:
        return [orjson.loads(body) for _, body in self.answered(path)]


DOWN_ANSWER = b"maintenance until 14:00, write to jane.doe@example.com"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                earlier = len(state.received.get(self.path, []))
                fails = self.path == "/down" or (self.path == "/flaky" and earlier < 3)
                status = 503 if fails else 200
                state.received.setdefault(self.path, []).append((dict(self.headers), body, status))
            # /down's answer echoes personal data, as a receiver's error page may
            answer = DOWN_ANSWER if self.path == "/down" else b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class MailReceiver:
    """The messages an SMTP client handed over (just enough of RFC 5321 for smtplib)."""

    port: int = 0
    messages: list[bytes] = field(default_factory=list)


@pytest.fixture
def mail_receiver() -> Iterator[MailReceiver]:
    state = MailReceiver()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 localhost test SMTP\r\n")
            while line := self.rfile.readline():
                verb = line[:4].upper()
                if verb == b"DATA":
                    self.wfile.write(b"354 end with .\r\n")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk
                    state.messages.append(data)
                    self.wfile.write(b"250 queued\r\n")
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:  # EHLO, MAIL, RCPT, RSET, NOOP
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def _routes(receiver: Receiver, silent_port: int, mail_port: int) -> str:
    base = f"http://127.0.0.1:{receiver.port}"
    return f"""
[[routes]]
name = "hook"
kind = "webhook"
url = "{base}/hook"
secret = "{SECRET}"

[[routes]]
name = "slack"
kind = "slack"
url = "{base}/slack"

[[routes]]
name = "pagerduty"
kind = "pagerduty"
url = "{base}/pagerduty"
routing_key = "routing-key-1"
severities = ["critical"]

[[routes]]
name = "flaky"
kind = "webhook"
url = "{base}/flaky"
transitions = ["opened"]

[[routes]]
name = "down"
kind = "webhook"
url = "{base}/down"
transitions = ["opened"]

[[routes]]
name = "refused"
kind = "slack"
url = "http://127.0.0.1:{free_port()}/nobody-listens"

[[routes]]
name = "silent"
kind = "slack"
url = "http://127.0.0.1:{silent_port}/never-answers"

[[routes]]
name = "teams"
kind = "teams"
url = "{base}/teams"

[[routes]]
name = "mail"
kind = "email"
url = "smtp://127.0.0.1:{mail_port}"
from = "opsassist@example.com"
to = ["oncall@example.com"]

[[routes]]
name = "other-service"
kind = "slack"
url = "{base}/other"
services = ["checkout"]
"""


@dataclass
class Notifier:
    settings: Settings
    log_file: Path

    def logged(self, text: str) -> int:
        return self.log_file.read_text().count(text)


@pytest.fixture
def notifier(
    settings: Settings,
    tmp_path: Path,
    receiver: Receiver,
    silent_port: int,
    mail_receiver: MailReceiver,
) -> Iterator[Notifier]:
    routes = tmp_path / "routes.toml"
    routes.write_text(_routes(receiver, silent_port, mail_receiver.port))
    mine = settings.model_copy(
        update={
            "notify_routes": routes,
            "topic_notifications": f"{settings.topic_logs}.notifications",
            "topic_notifications_dead_letter": f"{settings.topic_logs}.notifications.dlq",
            "notify_group": f"{settings.worker_id}-notify",
            "notify_max_attempts": 5,
            "notify_backoff_seconds": 0.05,
            "notify_backoff_max_seconds": 0.2,
            "notify_timeout_seconds": 600.0,
        }
    )
    env = settings_env(settings)
    for name in (
        "notify_routes",
        "topic_notifications",
        "topic_notifications_dead_letter",
        "notify_group",
        "notify_max_attempts",
        "notify_backoff_seconds",
        "notify_backoff_max_seconds",
        "notify_timeout_seconds",
    ):
        env[f"OPSASSIST_{name.upper()}"] = str(getattr(mine, name))
    log_file = tmp_path / "notify.log"
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "opsassist", "notify"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
    try:
        wait_for(
            lambda: b"notify.listening" in log_file.read_bytes() or proc.poll() is not None,
            90,
            "the notifier to listen",
        )
        assert proc.poll() is None, log_file.read_text()[-3000:]
        yield Notifier(mine, log_file)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _resend(settings: Settings, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_notifications, value, key=key)
    finally:
        await producer.stop()


def _attempts(settings: Settings, route: str) -> list[asyncpg.Record]:
    return asyncio.run(
        fetch(
            settings.database_url,
            "SELECT transition, attempt, status, http_status, error FROM notification_deliveries "
            "WHERE route = $1 ORDER BY id",
            route,
        )
    )


def test_an_incident_notifies_each_route_once_opened_then_once_resolved(
    notifier: Notifier, receiver: Receiver, mail_receiver: MailReceiver
) -> None:
    settings = notifier.settings
    url = settings.database_url

    async def open_one(conn: asyncpg.Connection) -> int:
        return await insert_incident(conn, "pay-1", "payments-api", T0)

    incident_id = on_database(url, open_one)

    def opened_everywhere() -> bool:
        return all(receiver.answered(path) for path in ("/hook", "/slack", "/pagerduty", "/flaky"))

    wait_for(opened_everywhere, 60, "the opened notification at every working route")
    create_user(url, "olivia", "ops")
    resolved = run_cli(
        settings, "incidents", "resolve", str(incident_id), "--by", "olivia", "--reason", "fixed"
    )
    assert resolved.returncode == 0, resolved.stderr

    def resolved_everywhere() -> bool:
        paths = ("/hook", "/slack", "/pagerduty", "/teams")
        return (
            all(len(receiver.answered(p)) == 2 for p in paths) and len(mail_receiver.messages) == 2
        )

    wait_for(resolved_everywhere, 60, "the resolved notification at every working route")

    # the generic webhook: the event itself, opened then resolved, signed like GitHub's
    hook = receiver.answered("/hook")
    assert [orjson.loads(body)["transition"] for _, body in hook] == ["opened", "resolved"]
    for headers, body in hook:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Opsassist-Signature-256"], expected)
    assert {orjson.loads(body)["incident_id"] for _, body in hook} == {incident_id}

    slack = receiver.bodies("/slack")
    assert [str(b["text"]).split("]")[0] for b in slack] == ["[opened", "[resolved"]

    pagerduty = receiver.bodies("/pagerduty")
    assert [b["event_action"] for b in pagerduty] == ["trigger", "resolve"]
    assert {b["dedup_key"] for b in pagerduty} == {f"opsassist-incident-{incident_id}"}
    assert pagerduty[0]["routing_key"] == "routing-key-1"

    teams = receiver.bodies("/teams")
    cards = [b["attachments"][0]["content"] for b in teams]
    assert [c["body"][0]["text"].split("]")[0] for c in cards] == ["[opened", "[resolved"]

    subjects = [
        message_from_bytes(m).get("Subject", "").split("]")[0] for m in mail_receiver.messages
    ]
    assert subjects == ["[opened", "[resolved"]
    assert message_from_bytes(mail_receiver.messages[0])["To"] == "oncall@example.com"

    # failing three times, then answering: one message arrived, four attempts recorded
    assert len(receiver.answered("/flaky")) == 1
    assert len(receiver.answered("/flaky", 503)) == 3
    assert [a["status"] for a in _attempts(settings, "flaky")] == ["failed"] * 3 + ["delivered"]

    # a route of another service hears nothing
    assert receiver.answered("/other") == []

    # the opened event once more on the topic (a producer's retry, a replay): not delivered again
    [opened] = [
        r
        for r in asyncio.run(
            read_topic(settings.kafka_bootstrap_servers, settings.topic_notifications, 16)
        )
        if orjson.loads(r.value)["route"] == "hook" and orjson.loads(r.value)["version"] == 1
    ]
    asyncio.run(_resend(settings, opened.key, opened.value))
    wait_for(lambda: notifier.logged("notify.duplicate") >= 1, 60, "the repeat to be seen")
    assert len(receiver.answered("/hook")) == 2


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_topic_with_its_attempts(
    notifier: Notifier, receiver: Receiver
) -> None:
    settings = notifier.settings

    async def open_one(conn: asyncpg.Connection) -> int:
        return await insert_incident(conn, "pay-2", "payments-api", T0)

    incident_id = on_database(settings.database_url, open_one)
    records = asyncio.run(
        read_topic(settings.kafka_bootstrap_servers, settings.topic_notifications_dead_letter, 2)
    )
    by_route = {orjson.loads(r.value)["route"]: r for r in records}
    assert set(by_route) >= {"down", "refused"}, records
    down = read_dead_letter_headers(by_route["down"].headers)
    assert down["code"] == "retries_exhausted"
    assert "HTTP 503" in down["reason"]
    assert orjson.loads(by_route["down"].value)["incident_id"] == incident_id

    attempts = _attempts(settings, "down")
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4, 5]
    assert [a["status"] for a in attempts] == ["failed"] * 4 + ["dead_lettered"]
    assert {a["http_status"] for a in attempts} == {503}
    assert len(receiver.answered("/down", 503)) == 5
    # what the receiver answered is kept, through the privacy policy
    for kept in (*(a["error"] or "" for a in attempts), down["reason"]):
        assert "maintenance until 14:00" in kept
        assert "jane.doe@example.com" not in kept

    refused = _attempts(settings, "refused")
    assert refused[-1]["status"] == "dead_lettered"
    assert "ConnectError" in (refused[-1]["error"] or "")

    listed = run_cli(settings, "notify", "deliveries", "--status", "dead_lettered")
    assert listed.returncode == 0, listed.stderr
    assert f"incident {incident_id}  down  opened  attempt 5  dead_lettered  503" in listed.stdout


def test_a_receiver_that_never_answers_blocks_no_other_route(
    notifier: Notifier, receiver: Receiver
) -> None:
    """The silent route's first attempt hangs (its timeout is 600 s here) while the other
    routes deliver the opened and the resolved message of an incident."""
    settings = notifier.settings
    url = settings.database_url

    async def open_one(conn: asyncpg.Connection) -> int:
        return await insert_incident(conn, "pay-3", "payments-api", T0)

    incident_id = on_database(url, open_one)
    wait_for(lambda: len(receiver.answered("/slack")) == 1, 60, "the opened message on Slack")
    create_user(url, "olivia", "ops")
    resolved = run_cli(
        settings, "incidents", "resolve", str(incident_id), "--by", "olivia", "--reason", "fixed"
    )
    assert resolved.returncode == 0, resolved.stderr
    wait_for(lambda: len(receiver.answered("/slack")) == 2, 60, "the resolved message on Slack")
    assert _attempts(settings, "silent") == []
