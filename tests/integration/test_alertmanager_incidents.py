"""A real Prometheus rule, evaluated against the running worker's /metrics, fires through a real
Alertmanager (Debian's ``prometheus-alertmanager``) into ``POST /webhooks/alertmanager``; the
worker opens the alert's incident, and resolves it when the rule stops firing."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from opsassist.bus.producer import produce_events
from opsassist.infra.processes import free_port
from tests.conftest import wait_for
from tests.integration.events import log_event
from tests.integration.test_log_intelligence import query
from tests.integration.test_observability import prometheus  # noqa: F401  (a fixture)

pytestmark = pytest.mark.integration


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Callable[[str, str], int]]:
    """Starts a real Alertmanager posting every notification (firing and resolved) at once to
    ``url`` with the bearer ``token``; returns its port."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("Alertmanager not installed (Debian: prometheus-alertmanager); CI installs it")
    procs: list[subprocess.Popen[bytes]] = []

    def start(url: str, token: str) -> int:
        port = free_port()
        config = tmp_path / "alertmanager.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "route": {
                        "receiver": "opsassist",
                        "group_by": ["alertname"],
                        "group_wait": "1s",
                        "group_interval": "1s",
                        "repeat_interval": "1h",
                    },
                    "receivers": [
                        {
                            "name": "opsassist",
                            "webhook_configs": [
                                {
                                    "url": url,
                                    "send_resolved": True,
                                    "http_config": {
                                        "authorization": {"type": "Bearer", "credentials": token}
                                    },
                                }
                            ],
                        }
                    ],
                }
            )
        )
        log_path = tmp_path / "alertmanager.log"
        procs.append(
            subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={tmp_path / 'alertmanager'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",
                ],
                stdout=log_path.open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

        def ready() -> bool:
            if procs[-1].poll() is not None:
                raise AssertionError(log_path.read_text()[-2000:])
            try:
                return httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 60, "Alertmanager to be ready")
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_prometheus_rule_on_the_worker_opens_and_resolves_an_incident_through_alertmanager(
    settings: Any,
    worker_process: Any,
    webhook_api: Any,
    prometheus: Any,  # noqa: F811
    alertmanager: Any,
    tmp_path: Path,
) -> None:
    worker = worker_process()
    worker.start()
    api = webhook_api(scopes=("events",))
    api.start()
    am_port = alertmanager(f"{api.url}/webhooks/alertmanager", api.api_key)
    # Fires while the worker has written no log line of this test's topic; one line resolves it.
    rules = tmp_path / "rules.yml"
    rules.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "opsassist-test",
                        "rules": [
                            {
                                "alert": "NoLogsWritten",
                                "expr": "sum(opsassist_events_written_total"
                                f'{{topic="{settings.topic_logs}"}}) < 1',
                                "labels": {"severity": "critical", "service": "payments-api"},
                                "annotations": {"summary": "no log line written yet"},
                            }
                        ],
                    }
                ]
            }
        )
    )
    prometheus({"worker": settings.worker_web_port}, rule_files=[rules], alertmanager_port=am_port)

    def incident() -> dict[str, Any] | None:
        rows = query(settings, "SELECT * FROM incidents WHERE source = 'alertmanager'")
        assert len(rows) <= 1
        return rows[0] if rows else None

    wait_for(lambda: incident() is not None, 120, "the alert's incident opened")
    opened = incident()
    assert opened is not None
    assert (opened["status"], opened["severity"], opened["service"], opened["reason"]) == (
        "open",
        "critical",
        "payments-api",
        "NoLogsWritten",
    )
    assert opened["narrative"] == "no log line written yet"
    assert opened["incident_key"].startswith("alertmanager:")

    asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, [log_event(1)]))
    wait_for(lambda: (incident() or {}).get("status") == "resolved", 120, "the incident resolved")
    resolved = incident()
    assert resolved is not None
    assert (resolved["id"], resolved["resolved_by"]) == (opened["id"], "agent:alerts")
