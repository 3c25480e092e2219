"""A real Prometheus (Debian's package) scrapes the running API and worker while events flow;
every recording rule behind the alerts and every dashboard query returns data through
Prometheus's HTTP API.

The worker triages tickets with an LLM (the fake OpenAI-compatible server, in a thread of this
test) on a small hourly budget, so that the LLM panels have data: answers, a failing first model
and its fallback, cache hits, tokens and cost; and the budget runs out, so that the budget alerts
must fire in the real Prometheus. Some events carry personal data, for the redaction panel."""

from __future__ import annotations

import asyncio
import math
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
from tests.integration.events import log_event, send_raw, ticket_event
from tests.observability_files import RULES, dashboard_expressions, rules, variable_queries
from tests.unit.llm.fake_openai import SERVER_ERROR, FakeOpenAI, Reply, answer, serving_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Starts a real Prometheus scraping ``{job: port}`` every second, with our rules loaded
    (or ``rule_files``), sending alerts to the Alertmanager on ``alertmanager_port`` if given;
    returns its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not installed (Debian: apt-get install prometheus); CI installs it")
    procs: list[subprocess.Popen[bytes]] = []

    def start(
        targets: dict[str, int],
        rule_files: list[Path] | None = None,
        alertmanager_port: int | None = None,
    ) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        settings: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rule_files or [RULES]],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{target}"]}]}
                for job, target in targets.items()
            ],
        }
        if alertmanager_port is not None:
            settings["alerting"] = {
                "alertmanagers": [
                    {"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}
                ]
            }
        config.write_text(yaml.safe_dump(settings))
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


def query(base: str, expr: str) -> list[Any]:
    reply = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert reply["status"] == "success", f"{expr}: {reply}"
    result: list[Any] = reply["data"]["result"]
    return result


def firing(base: str) -> dict[str, list[dict[str, str]]]:
    """The labels of every firing alert, by alert name."""
    alerts = httpx.get(f"{base}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    found: dict[str, list[dict[str, str]]] = {}
    for alert in alerts:
        if alert["state"] == "firing":
            found.setdefault(alert["labels"]["alertname"], []).append(alert["labels"])
    return found


# Two models of one provider: "primary" fails on tickets titled "Flaky" (the fallback to
# "secondary" answers them). At 100 USD per million tokens, an answer reported as 500 + 100
# tokens costs 0.06 USD, so the process's budget of 1 USD an hour runs out after some fifteen.
# The task's own budget is far above it: its alert must stay quiet.
PROCESS_BUDGET_USD = 1.0
USD_PER_MILLION_TOKENS = 100.0  # prompt and completion alike


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    with serving_in_thread() as server:

        def primary(request: dict[str, Any]) -> Reply:
            if "Flaky" in str(request["messages"]):
                return SERVER_ERROR
            return secondary(request)

        def secondary(request: dict[str, Any]) -> Reply:
            verdict = {"category": "question", "priority": "P3", "reason": "asks how to"}
            return answer(verdict, prompt_tokens=500, completion_tokens=100)

        server.respond("primary", primary)
        server.respond("secondary", secondary)
        yield server


def llm_config(path: Path, server: FakeOpenAI) -> Path:
    models = "".join(
        f"""
[[tasks.triage.models]]
name = "{name}"
provider = "fake"
max_tokens = 100
timeout_seconds = 10
input_usd_per_million_tokens = {USD_PER_MILLION_TOKENS}
output_usd_per_million_tokens = {USD_PER_MILLION_TOKENS}
"""
        for name in ("primary", "secondary")
    )
    path.write_text(
        f"""
[providers.fake]
base_url = "{server.base_url}"

[tasks.triage]
max_cost_per_hour_usd = 50.0
{models}"""
    )
    return path


def test_prometheus_scrapes_api_and_worker_and_every_signal_has_data(  # type: ignore[no-untyped-def]
    settings, worker_process, api_process, prometheus, fake_llm, tmp_path
) -> None:
    worker = worker_process(
        llm_config_file=llm_config(tmp_path / "llm.toml", fake_llm),
        llm_max_cost_per_hour_usd=PROCESS_BUDGET_USD,
        llm_retry_attempts=1,  # a failing model falls back at once
        llm_breaker_failures=1000,  # and its provider's circuit stays closed
    )
    worker.start()
    api = api_process()
    api.start()
    base = prometheus(
        {"opsassist-api": settings.api_port, "opsassist-worker": settings.worker_web_port}
    )

    # Scraped before any traffic: every series the budget alerts read starts at zero in
    # Prometheus, as it does in a deployment, so increase() counts the first answers' cost.
    def scraped_at_rest() -> bool:
        up = query(base, 'up{job=~"opsassist-.*"} == 1')
        costs = query(base, 'opsassist_llm_cost_usd_total{job="opsassist-worker"} == 0')
        return len(up) == 2 and bool(costs)

    wait_for(scraped_at_rest, 60, "Prometheus to scrape both targets before traffic", interval=0.5)

    def traffic(round_: int) -> None:
        events = [log_event(round_ * 100 + i) for i in range(100)]
        personal = "login failed for jane.doe@example.com from 10.20.30.40"
        events += [log_event(100_000 + round_ * 10 + i, message=personal) for i in range(5)]
        # triage abstains on all of these, so the worker asks the LLM about each
        tickets = [
            ticket_event(round_),  # new text: a cache miss, answered by "primary"
            ticket_event(10_000 + round_, title=f"Flaky {round_}"),  # "primary" fails
            # the same text every round: answered from the cache after the first
            ticket_event(20_000 + round_, title="Hello", body="how do I export my report"),
            ticket_event(30_000 + round_, body="call me back at jane.doe@example.com"),
        ]
        asyncio.run(
            produce_events(settings.kafka_bootstrap_servers, settings.topics, [*events, *tickets])
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
        llm = query(
            base,
            "sum(opsassist_llm_fallbacks_total) > 0 and sum(opsassist_llm_cache_hits_total) > 0",
        )
        return len(up) == 2 and bool(written) and bool(llm)

    wait_for(
        scraped_with_data,
        180,
        "both targets up, events written and LLM fallbacks and cache hits in Prometheus",
        interval=1,
    )
    for _ in range(3):  # a few more scrapes, so that rates have two samples everywhere
        traffic(next(rounds))

    # data: at least one series with a number (a ratio or quantile over nothing is NaN)
    def has_data(expr: str) -> bool:
        return any(not math.isnan(float(r["value"][1])) for r in query(base, expr))

    empty = []
    for rule in rules():
        if "record" in rule and not has_data(rule["expr"]):
            empty.append(f"recording rule {rule['record']}: {rule['expr']}")
    for name, title, expr in dashboard_expressions():
        if not has_data(expr):
            empty.append(f"{name} / {title}: {expr}")
    # every template variable offers at least one value to choose (label_values in Grafana)
    for name, variable, metric, label in variable_queries():
        if not any(r["metric"].get(label) for r in query(base, f"count by ({label}) ({metric})")):
            empty.append(f"{name} / ${variable}: no {label} on {metric}")
    assert not empty, "queries without data:\n" + "\n".join(empty)

    # the budget ran out: the process-level alerts fire for the worker, the task's does not
    def budget_alerts_fire() -> bool:
        traffic(next(rounds))
        return {"OpsassistLlmBudgetNearlySpent", "OpsassistLlmBudgetExhausted"} <= firing(
            base
        ).keys()

    try:
        wait_for(budget_alerts_fire, 120, "the LLM budget alerts to fire", interval=1)
    except AssertionError as exc:
        spent = query(base, "opsassist:llm_budget_spent:ratio1h")
        raise AssertionError(f"{exc}; firing: {firing(base)}; budget spent: {spent}") from None
    alerts = firing(base)
    for name in ("OpsassistLlmBudgetNearlySpent", "OpsassistLlmBudgetExhausted"):
        assert [a["job"] for a in alerts[name]] == ["opsassist-worker"], alerts[name]
    assert alerts["OpsassistLlmBudgetExhausted"][0]["task"] == "triage"
    assert "OpsassistLlmTaskBudgetNearlySpent" not in alerts
    spent = query(base, "opsassist:llm_budget_spent:ratio1h")
    assert float(spent[0]["value"][1]) > 0.8, spent
    assert fake_llm.requests_for("secondary"), "the fallback model was never asked"
    assert all("jane.doe" not in str(r["messages"]) for r in fake_llm.requests)
    # and the rules file is loaded by the real server: every alert is known to it
    loaded = httpx.get(f"{base}/api/v1/rules", timeout=10).json()["data"]["groups"]
    known = {r["name"] for g in loaded for r in g["rules"] if r["type"] == "alerting"}
    assert known == {rule["alert"] for rule in rules() if "alert" in rule}
