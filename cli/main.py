"""``opsassist``: the one entry point for every part of the product.

Every command module is imported to build the command tree, so each keeps its heavy imports
(stages, store, drivers, settings) inside the commands: ``opsassist --help`` and shell completion
pay only for typer (docs/decisions/0003-cli-startup.md; tests/unit/opsassist/test_cli_startup.py).
"""

from __future__ import annotations

import typer
from rich.console import Console

from opsassist.cli import (
    apikey,
    changelog,
    graphql,
    history,
    incidents,
    infra,
    llm,
    logs,
    notify,
    produce,
    redact,
    replay,
    services,
    triage,
)

app = typer.Typer(
    name="opsassist",
    help="Event-driven assistant for operations teams: logs, commits and tickets via Kafka into "
    "PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"opsassist {version('opsassist')}")
        raise typer.Exit()


@app.callback()
def _options(
    _version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the installed version and exit.",
    ),
) -> None:
    pass


app.add_typer(infra.app, name="infra")
app.add_typer(produce.app, name="produce")
app.add_typer(llm.app, name="llm")
app.add_typer(triage.app, name="triage")
app.add_typer(apikey.app, name="apikey")
app.add_typer(history.app, name="history")
app.add_typer(incidents.app, name="incidents")
app.add_typer(notify.app, name="notify")
app.add_typer(replay.app, name="replay")
app.add_typer(graphql.users_app, name="users")
app.add_typer(graphql.graphql_app, name="graphql")
app.command()(services.migrate)
app.command()(services.worker)
app.command()(services.api)
app.command()(changelog.changelog)
app.command()(redact.redact)
app.command()(logs.templates)
app.command()(logs.summarize)

schemas_app = typer.Typer(help="Event contracts.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")


@schemas_app.command("export")
def export_schemas() -> None:
    """Write the JSON Schema of every event kind into schemas/json/."""
    from opsassist.schemas.jsonschema import export_schemas as export

    for path in export():
        Console(stderr=True).print(f"wrote {path}")


@app.command("lag-exporter")
def lag_exporter() -> None:
    """Serve the consumer group's lag per partition of the raw topics on /metrics
    (OPSASSIST_LAG_EXPORTER_PORT), read from Kafka every OPSASSIST_LAG_EXPORTER_INTERVAL_SECONDS."""
    from opsassist.cli.lag import lag_exporter as export  # aiokafka: not at start

    export()


@app.command()
def run(
    demo: bool = typer.Option(True, help="Load the demo data once everything runs."),
) -> None:
    """Start everything locally (Kafka and PostgreSQL unless configured, the worker, the API),
    load demo data and wait; Ctrl-C stops it all."""
    from opsassist.cli.run import run_all

    run_all(demo=demo)


def main() -> None:
    app()
