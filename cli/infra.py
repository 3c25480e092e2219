"""``opsassist infra up|down|status``: the local Kafka and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

# The settings, the launchers and the Kafka client load inside the commands: the CLI starts
# without them (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    from opsassist.settings import Settings

app = typer.Typer(
    help="Start, stop and inspect the local Kafka and PostgreSQL.", no_args_is_help=True
)
console = Console(stderr=True)


def start_local_services(settings: Settings) -> dict[str, str]:
    """Start what is not configured; return the endpoints of what was started."""
    import asyncio

    from opsassist.bus.topics import ensure_topics
    from opsassist.endpoints import record_started
    from opsassist.infra.local import local_kafka, local_postgres

    started: dict[str, str] = {}
    if not settings.kafka_bootstrap_servers:
        kafka = local_kafka(settings)
        with console.status(f"Starting Kafka {settings.kafka_version} (KRaft) ..."):
            started["kafka_bootstrap_servers"] = kafka.start()
        console.print(f"[green]Kafka[/] on {kafka.bootstrap_servers}  (log: {kafka.log_file})")
    if not settings.database_url:
        pg = local_postgres(settings)
        with console.status("Starting PostgreSQL ..."):
            started["database_url"] = pg.start()
        console.print(f"[green]PostgreSQL[/] at {pg.database_url}  (data: {pg.data_dir})")
    if started:
        record_started(settings, started)
    bootstrap = settings.kafka_bootstrap_servers or started.get("kafka_bootstrap_servers", "")
    created = asyncio.run(ensure_topics(bootstrap, settings))
    if created:
        console.print(f"Created topics: {', '.join(created)}")
    return started


def stop_local_services(settings: Settings) -> list[str]:
    from opsassist.endpoints import forget_started
    from opsassist.infra.local import local_kafka, local_postgres

    stopped = []
    if local_kafka(settings).stop():
        stopped.append("Kafka")
    if local_postgres(settings).stop():
        stopped.append("PostgreSQL")
    forget_started(settings)
    return stopped


@app.command()
def up() -> None:
    """Start a local Kafka and PostgreSQL for whatever is not configured, and create the topics."""
    from opsassist.infra.errors import InfraError
    from opsassist.settings import get_settings

    settings = get_settings()
    try:
        start_local_services(settings)
    except InfraError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@app.command()
def jars() -> None:
    """Resolve the Kafka jars from Maven Central into the cache (done once; `up` does it too)."""
    from opsassist.infra.errors import InfraError
    from opsassist.infra.local import local_kafka
    from opsassist.settings import get_settings

    settings = get_settings()
    kafka = local_kafka(settings)
    try:
        with console.status(f"Resolving Kafka {settings.kafka_version} from Maven Central ..."):
            lib = kafka.ensure_jars()
    except InfraError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"Kafka {settings.kafka_version} jars in {lib}")


@app.command()
def down() -> None:
    """Stop the local services (their data stays for the next `up`)."""
    from opsassist.settings import get_settings

    stopped = stop_local_services(get_settings())
    console.print(f"Stopped: {', '.join(stopped)}" if stopped else "Nothing was running.")


@app.command()
def status() -> None:
    """Say what runs where."""
    from opsassist.endpoints import recorded
    from opsassist.infra.local import local_kafka, local_postgres
    from opsassist.settings import get_settings

    settings = get_settings()
    kafka, pg = local_kafka(settings), local_postgres(settings)
    pid = kafka.pid()
    rows = [
        (
            "Kafka",
            (settings.kafka_bootstrap_servers and f"configured: {settings.kafka_bootstrap_servers}")
            or (f"running (pid {pid}) on {kafka.bootstrap_servers}" if pid else "stopped"),
        ),
        (
            "PostgreSQL",
            (settings.database_url and "configured: DATABASE_URL")
            or (f"running at {pg.database_url}" if pg.running() else "stopped"),
        ),
    ]
    for name, state in rows:
        console.print(f"{name:<11} {state}")
    if recorded(settings):
        console.print(f"State: {settings.state_dir}")
