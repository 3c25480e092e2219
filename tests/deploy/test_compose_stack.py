"""The compose stack on a real Docker engine: healthy and migrated, webhooks through the API
container redacted in GraphQL, scaled-out workers that lose and duplicate nothing when one is
killed and another joins, Prometheus scraping every live worker, and nothing left after
`down -v`. The tests share one stack and run in this order."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import threading
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from opsassist.api.webhooks.github_mapping import sign
from opsassist.bus.producer import produce_events
from opsassist.settings import PROJECT_ROOT, Settings
from tests.conftest import create_api_key, wait_for
from tests.deploy.conftest import GITHUB_SECRET, PARTITIONS, WORKER_REPLICAS, Stack
from tests.integration.events import log_event
from tests.integration.graphql.client import as_user, create_user

pytestmark = pytest.mark.integration

EMAIL = "jane.deploy@example.org"
IP = "203.0.113.51"
EVENTS = 30_000
PUSH = json.loads((PROJECT_ROOT / "tests/fixtures/webhooks/github_push.json").read_text())


def fetchval(stack: Stack, sql: str, *args: Any) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(stack.database_url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_stack_is_healthy_migrated_and_ready(stack: Stack) -> None:
    states = {c["Name"]: (c["Service"], c["State"], c["Health"]) for c in stack.containers()}
    for name, (service, state, health) in states.items():
        if service == "migrate":
            assert state == "exited", (name, state)
        else:
            assert (state, health) == ("running", "healthy"), (name, state, health)
    migrate = stack.containers("migrate")
    assert [c["ExitCode"] for c in migrate] == [0]
    assert len(stack.containers("worker")) == WORKER_REPLICAS
    assert {c["Service"] for c in stack.containers()} >= {"kafka", "postgres", "api", "prometheus"}

    files = sorted(int(p.name[:4]) for p in (PROJECT_ROOT / "migrations").glob("*.sql"))
    applied = fetchval(stack, "SELECT array_agg(version ORDER BY version) FROM migration_versions")
    assert list(applied) == files

    ready = httpx.get(f"{stack.api_url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"kafka": "ok", "postgres": "ok"}


LOGS_QUERY = """
query ($services: [String!]) {
  logEvents(first: 50, filter: {services: $services}) {
    edges { node { service message attributes } }
  }
}
"""
COMMITS_QUERY = """
query ($repos: [String!]) {
  commits(first: 10, filter: {repositories: $repos}) { edges { node { sha message authorEmail } } }
}
"""


def test_github_push_and_ndjson_logs_come_out_of_graphql_redacted(stack: Stack) -> None:
    api_key = create_api_key(stack.database_url, f"deploy-{uuid.uuid4().hex[:6]}", ["*"])
    service = f"deploy-{uuid.uuid4().hex[:6]}"
    lines = [
        {"level": "ERROR", "message": f"payment by {EMAIL} from {IP} failed"},
        {"level": "INFO", "message": "checkout ok", "attributes": {"client_ip": IP}},
    ]
    logs = httpx.post(
        f"{stack.api_url}/ingest/logs?service={service}",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/x-ndjson"},
        timeout=30,
    )
    assert logs.status_code == 202, logs.text
    assert logs.json()["accepted"] == 2

    push = copy.deepcopy(PUSH)
    repo = f"deploy/{uuid.uuid4().hex[:8]}"
    push["repository"]["full_name"] = repo
    push["repository"]["name"] = repo.split("/")[1]
    for commit in push["commits"]:
        commit["message"] += f"\n\nReported-by: {EMAIL}"
    body = json.dumps(push).encode()
    delivered = httpx.post(
        f"{stack.api_url}/webhooks/github",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(GITHUB_SECRET, body),
        },
        timeout=30,
    )
    assert delivered.status_code == 202, delivered.text

    create_user(stack.database_url, "deploy-admin", "admin")
    admin = as_user(f"{stack.api_url}/graphql", "deploy-admin")
    found: dict[str, list[dict[str, Any]]] = {}

    def arrived() -> bool:
        found["logs"] = [
            e["node"] for e in admin.run(LOGS_QUERY, services=[service])["logEvents"]["edges"]
        ]
        found["commits"] = [
            e["node"] for e in admin.run(COMMITS_QUERY, repos=[repo])["commits"]["edges"]
        ]
        return len(found["logs"]) == 2 and len(found["commits"]) == 2

    wait_for(arrived, timeout=120, what="the log lines and commits in GraphQL")
    text = json.dumps(found)
    assert EMAIL not in text and IP not in text
    assert {n["message"].split(" by ")[0] for n in found["logs"]} >= {"payment"}
    assert all(n["message"].startswith(("fix(checkout)", "feat(api)")) for n in found["commits"])


def _topic_partitions(stack: Stack, topic: str) -> int:
    async def run() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return len(described["partitions"])

    return asyncio.run(run())


def _live_worker_ips(stack: Stack) -> set[str]:
    ips = set()
    for container in stack.containers("worker"):
        if container["State"] != "running":
            continue
        address = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        out = subprocess.run(
            ["docker", "inspect", "-f", address, container["ID"]],
            capture_output=True,
            text=True,
            check=True,
        )
        ips.add(out.stdout.strip())
    return ips


def _scraped_workers(stack: Stack) -> set[str]:
    targets = httpx.get(f"{stack.prometheus_url}/api/v1/targets", timeout=10).json()
    return {
        t["labels"]["instance"].split(":")[0]
        for t in targets["data"]["activeTargets"]
        if t["labels"]["job"] == "opsassist-worker" and t["health"] == "up"
    }


def _lag_series(stack: Stack, topic: str) -> int:
    """How many partitions of ``topic`` the lag exporter reports, as Prometheus has them."""
    query = f'count(opsassist_consumer_group_lag_messages{{topic="{topic}"}})'
    answer = httpx.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=10)
    result = answer.json()["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0


def test_scaled_workers_lose_and_duplicate_nothing_when_one_dies_and_one_joins(
    stack: Stack,
) -> None:
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=stack.kafka_bootstrap)
    assert _topic_partitions(stack, settings.topic_logs) == PARTITIONS
    service = f"scale-{uuid.uuid4().hex[:6]}"
    events = [log_event(i, service=service) for i in range(EVENTS)]
    produced: list[int] = []
    producer = threading.Thread(
        target=lambda: produced.append(
            asyncio.run(produce_events(stack.kafka_bootstrap, settings.topics, events))
        )
    )
    producer.start()

    def rows() -> int:
        return int(fetchval(stack, "SELECT count(*) FROM log_events WHERE service = $1", service))

    wait_for(lambda: rows() >= EVENTS // 5, timeout=300, what="a fifth of the events stored")
    victim = stack.containers("worker")[0]
    subprocess.run(["docker", "kill", victim["ID"]], check=True, capture_output=True)
    subprocess.run(["docker", "rm", victim["ID"]], check=True, capture_output=True)
    # A fourth replica joins: compose fills the service back up to three containers.
    joined = stack.compose_run(
        "up",
        "-d",
        "--no-deps",
        "--no-recreate",
        "--wait",
        "--scale",
        f"worker={WORKER_REPLICAS}",
        "worker",
    )
    assert joined.returncode == 0, joined.stderr
    workers = stack.containers("worker")
    assert victim["ID"] not in {c["ID"] for c in workers}
    assert len(workers) == WORKER_REPLICAS
    assert all((c["State"], c["Health"]) == ("running", "healthy") for c in workers), workers

    producer.join(timeout=600)
    assert produced == [EVENTS]
    wait_for(lambda: rows() >= EVENTS, timeout=600, what=f"{EVENTS} events stored")
    stored = fetchval(
        stack,
        "SELECT array_agg(event_id) FROM log_events WHERE service = $1",
        service,
    )
    assert len(stored) == EVENTS
    assert set(stored) == {event.id for event in events}

    live = _live_worker_ips(stack)
    assert len(live) == WORKER_REPLICAS
    wait_for(
        lambda: _scraped_workers(stack) == live,
        timeout=120,
        what="Prometheus scraping every live worker",
    )
    wait_for(
        lambda: _lag_series(stack, settings.topic_logs) == PARTITIONS,
        timeout=120,
        what="the lag exporter's lag of every partition in Prometheus",
    )


def test_compose_down_leaves_nothing(stack: Stack) -> None:
    stack.compose.stop(down=True)
    label = f"label=com.docker.compose.project={stack.project}"
    containers = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--filter", label],
        capture_output=True,
        text=True,
        check=True,
    )
    volumes = subprocess.run(
        ["docker", "volume", "ls", "--quiet", "--filter", label],
        capture_output=True,
        text=True,
        check=True,
    )
    networks = subprocess.run(
        ["docker", "network", "ls", "--quiet", "--filter", label],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (containers.stdout, volumes.stdout, networks.stdout) == ("", "", "")
