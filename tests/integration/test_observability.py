"""A real Prometheus (Debian's package) scrapes the running API and worker while events flow;
every recording rule behind the alerts and every dashboard query returns data through
Prometheus's HTTP API."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from infra.processes import free_port
from opsassist.producer import produce_events
from tests.conftest import wait_for
from tests.integration.events import log_event, send_raw, ticket_event
from tests.observability_files import RULES, dashboard_expressions, rules

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[dict[str, int]], str]]:
    """Starts a real Prometheus scraping ``{job: port}`` every second, with our rules loaded;
    returns its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not installed (Debian: apt-get install prometheus); CI installs it")
    procs: list[subprocess.Popen[bytes]] = []

    def start(targets: dict[str, int]) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{target}"]}]}
                        for job, target in targets.items()
                    ],
                }
            )
        )
        log = (tmp_path / "prometheus.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if procs[-1].poll() is not None:
                raise AssertionError((tmp_path / "prometheus.log").read_text()[-2000:])
            try:
                return httpx.get(f"{base}/-/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 60, "Prometheus to be ready")
        return base

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def query(base: str, expr: str) -> list[object]:
    answer = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", f"{expr}: {answer}"
    result: list[object] = answer["data"]["result"]
    return result


def test_prometheus_scrapes_api_and_worker_and_every_signal_has_data(  # type: ignore[no-untyped-def]
    settings, worker_process, api_process, prometheus
) -> None:
    worker = worker_process()
    worker.start()
    api = api_process()
    api.start()
    base = prometheus(
        {"opsassist-api": settings.api_port, "opsassist-worker": settings.worker_web_port}
    )

    def traffic(round_: int) -> None:
        events = [log_event(round_ * 100 + i) for i in range(100)]
        asyncio.run(
            produce_events(
                settings.kafka_bootstrap_servers, settings.topics, [*events, ticket_event(round_)]
            )
        )
        asyncio.run(
            send_raw(settings.kafka_bootstrap_servers, settings.topic_logs, [(b"k", b"not json")])
        )
        for _ in range(5):
            httpx.get(f"{api.url}/healthz")
            httpx.get(f"{api.url}/readyz", timeout=15)

    rounds = iter(range(1000))

    def scraped_with_data() -> bool:
        traffic(next(rounds))
        up = query(base, 'up{job=~"opsassist-.*"} == 1')
        written = query(base, "sum(increase(opsassist_events_written_total[1m])) > 0")
        return len(up) == 2 and bool(written)

    wait_for(scraped_with_data, 120, "both targets up and events written in Prometheus", interval=1)
    for _ in range(3):  # a few more scrapes, so that rates have two samples everywhere
        traffic(next(rounds))

    empty = []
    for rule in rules():
        if "record" in rule and not query(base, rule["expr"]):
            empty.append(f"recording rule {rule['record']}: {rule['expr']}")
    for name, title, expr in dashboard_expressions():
        if not query(base, expr):
            empty.append(f"{name} / {title}: {expr}")
    assert not empty, "queries without data:\n" + "\n".join(empty)
    # and the rules file is loaded by the real server: every alert is known to it
    loaded = httpx.get(f"{base}/api/v1/rules", timeout=10).json()["data"]["groups"]
    alerts = {r["name"] for g in loaded for r in g["rules"] if r["type"] == "alerting"}
    assert alerts == {rule["alert"] for rule in rules() if "alert" in rule}
