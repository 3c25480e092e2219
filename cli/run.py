"""``opsassist run`` (``make run``): the whole product on one machine, stopped by Ctrl-C; a
worker or API process that exits is restarted (infra/supervisor.py, docs/reliability.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

import httpx
import typer
from rich.console import Console

from opsassist.cli.infra import start_local_services, stop_local_services
from opsassist.cli.readers import (
    commit_events_from_git,
    log_events_from_file,
    ticket_events_from_file,
)
from opsassist.endpoints import ServicesError, resolve_endpoints
from opsassist.infra.errors import InfraError
from opsassist.infra.supervisor import GaveUp, Supervisor
from opsassist.settings import PROJECT_ROOT, Settings, get_settings
from opsassist.store.migrations import migrate

console = Console(stderr=True)
DEMO_DIR = resources.files("opsassist.cli").joinpath("demo")


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise InfraError(f"the {what} exited with code {proc.returncode}; see its log above")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise InfraError(f"the {what} did not answer {url} within {timeout:.0f}s")


def _demo_sources(settings: Settings, files: ExitStack) -> tuple[list[tuple[Path, str]], Path]:
    """Real log samples and tickets from the shared evaluation data where present, else ours
    (package data, as files for as long as ``files`` stays open)."""
    loghub = settings.eval_data / "loghub_2k"
    logs = [(loghub / s / f"{s}_2k.log", s.lower()) for s in ("HDFS", "Apache", "OpenSSH")]
    logs = [(p, svc) for p, svc in logs if p.exists()]
    if not logs:
        demo_logs = files.enter_context(resources.as_file(DEMO_DIR.joinpath("logs.ndjson")))
        logs = [(demo_logs, "demo-api")]
    tickets = (
        settings.eval_data / "tickets" / "nlbse24_issue_report_classification" / "issues_train.csv"
    )
    if not tickets.exists():
        tickets = files.enter_context(resources.as_file(DEMO_DIR.joinpath("tickets.jsonl")))
    return logs, tickets


def _load_demo(settings: Settings) -> None:
    from opsassist.bus.producer import produce_events

    endpoints = resolve_endpoints(settings)
    events: list[object] = []
    with ExitStack() as files:
        logs, tickets = _demo_sources(settings, files)
        for path, service in logs:
            events.extend(log_events_from_file(path, service, source="demo"))
        ticket_events = list(ticket_events_from_file(tickets, "demo", source="demo"))
    if (PROJECT_ROOT / ".git").exists():
        try:
            events.extend(commit_events_from_git(PROJECT_ROOT, name="opsassist", source="demo"))
        except Exception as exc:  # a repository without commits yet is fine for a demo
            console.print(f"(no commits loaded: {exc})")
    events.extend(ticket_events[:300])
    sent = asyncio.run(produce_events(endpoints.kafka_bootstrap_servers, settings.topics, events))  # type: ignore[arg-type]
    console.print(
        f"Demo data: {sent:,} events produced ({', '.join(s for _, s in logs)} logs, "
        f"this repository's commits, {min(300, len(ticket_events))} tickets from {tickets.name})."
    )


def run_all(demo: bool = True) -> None:
    settings = get_settings()
    started: dict[str, str] = {}
    supervisor = Supervisor(
        backoff_seconds=settings.run_restart_backoff_seconds,
        quick_seconds=settings.run_quick_crash_seconds,
        max_quick_crashes=settings.run_max_quick_crashes,
        report=lambda line: console.print(line, highlight=False),
    )

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background may have SIGINT ignored.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        started = start_local_services(settings)
        endpoints = resolve_endpoints(settings)
        applied = asyncio.run(migrate(endpoints.database_url))
        console.print(f"Migrations: {len(applied)} applied, schema up to date.")
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
            "DATABASE_URL": endpoints.database_url,
        }
        if sys.stderr.isatty() and "log_format" not in settings.model_fields_set:
            env["OPSASSIST_LOG_FORMAT"] = "console"  # a person is watching; JSON otherwise
        if "graphql_production" not in settings.model_fields_set:
            # A local stack is development: full errors, GraphiQL and introspection.
            env["OPSASSIST_GRAPHQL_PRODUCTION"] = "false"
        opsassist = [sys.executable, "-m", "opsassist"]
        worker = supervisor.start("worker", [*opsassist, "worker"], env)
        api = supervisor.start("API", [*opsassist, "api"], env)
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        worker_url = f"http://127.0.0.1:{settings.worker_web_port}"
        _wait_http(f"{api_url}/readyz", api, "API")
        _wait_http(f"{worker_url}/healthz", worker, "worker")
        if demo:
            _load_demo(settings)
        console.rule("[bold green]Opsassist is running")
        console.print(
            f"""
  API           {api_url}   (docs: {api_url}/docs)
  readiness     {api_url}/readyz
  API metrics   {api_url}/metrics
  worker        {worker_url}/metrics
  Kafka         {endpoints.kafka_bootstrap_servers}
  PostgreSQL    {endpoints.database_url}

Try:
  psql {endpoints.database_url} -c 'SELECT service, count(*) FROM log_events GROUP BY 1'
  opsassist produce logs some.log --service my-app
  opsassist produce commits --git . --range HEAD~10..HEAD
  curl -s {worker_url}/metrics | grep opsassist_events

Ctrl-C stops everything.""",
            soft_wrap=True,
            highlight=False,
        )
        while True:
            supervisor.check()
            time.sleep(0.5)
    except GaveUp as exc:
        console.print(f"[red]error:[/] {exc}; stopping everything.")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("\nStopping ...")
    except ServicesError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        supervisor.stop_all()
        if started:
            stopped = stop_local_services(settings)
            console.print(f"Stopped: {', '.join(stopped) or 'nothing'}")
