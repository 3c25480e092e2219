"""/metrics of the API and the worker carry no ``*_created`` series (prometheus_client's
``disable_created_metrics()`` at process start, cli/services.py), over HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from opsassist.bus.producer import produce_events
from tests.conftest import wait_for
from tests.integration.events import log_event

pytestmark = pytest.mark.integration


def _created_samples(exposition: str) -> list[str]:
    """Sample lines whose metric name ends in ``_created``."""
    return [
        line
        for line in exposition.splitlines()
        if line
        and not line.startswith("#")
        and line.split("{")[0].split(" ")[0].endswith("_created")
    ]


def test_api_metrics_have_no_created_series(api_process) -> None:  # type: ignore[no-untyped-def]
    # One API process: its own registry. Several share prometheus_client's multiprocess
    # collector, which never wrote _created samples.
    api = api_process(api_workers=1)
    api.start()
    assert httpx.get(f"{api.url}/readyz", timeout=15).status_code == 200
    api_metrics = httpx.get(f"{api.url}/metrics").text
    assert 'opsassist_http_requests_total{method="GET",route="/readyz"' in api_metrics
    assert _created_samples(api_metrics) == []


def test_worker_metrics_have_no_created_series(settings, worker_process) -> None:  # type: ignore[no-untyped-def]
    worker = worker_process()
    worker.start()
    asyncio.run(produce_events(settings.kafka_bootstrap_servers, settings.topics, [log_event(1)]))
    wait_for(lambda: worker.metric("opsassist_events_written_total") >= 1, 60, "the event written")
    worker_metrics = worker.metrics()
    assert "opsassist_events_written_total{" in worker_metrics
    assert _created_samples(worker_metrics) == []
