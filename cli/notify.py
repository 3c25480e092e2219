"""``opsassist notify``: the notifier process (streams/agents/notify.py), and
``opsassist notify deliveries``: what it delivered, retried and gave up on."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)

app = typer.Typer(
    help="Incident notifications: run the notifier, or list its delivery attempts.",
    invoke_without_command=True,
)


@app.callback(invoke_without_command=True)
def notify(ctx: typer.Context) -> None:
    """Run the notifier: every incident change (detector, alerts, people) becomes one event per
    matching route (OPSASSIST_NOTIFY_ROUTES) on ops.notifications, delivered to Slack, Teams,
    PagerDuty, e-mail or a signed webhook; see docs/incidents.md."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio
    import contextlib

    from opsassist.cli.services import _privacy, endpoints_or_exit
    from opsassist.settings import get_settings
    from opsassist.streams.agents.notify import Notifier
    from opsassist.streams.notify import Route, RoutesError, load_routes
    from opsassist.structured_logging import configure_logging

    settings = get_settings()
    redactor = _privacy(settings)
    configure_logging(settings.log_level, settings.log_format, redactor)
    routes: tuple[Route, ...] = ()
    if settings.notify_routes is not None:
        try:
            routes = load_routes(settings.notify_routes)
        except (OSError, RoutesError) as exc:
            console.print(f"[red]error:[/] OPSASSIST_NOTIFY_ROUTES={settings.notify_routes}: {exc}")
            raise typer.Exit(1) from None
    if not routes:
        console.print("[yellow]warning:[/] no notification routes: nothing will be delivered")
    endpoints = endpoints_or_exit(settings)
    notifier = Notifier(
        settings,
        endpoints.kafka_bootstrap_servers,
        endpoints.database_url,
        routes,
        lambda text: redactor.redact_text(text).text,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops it
        asyncio.run(notifier.run())


@app.command("deliveries")
def deliveries(
    incident: int | None = typer.Option(None, help="Only this incident's attempts."),
    status: str | None = typer.Option(
        None, help="Only attempts with this status: delivered, failed or dead_lettered."
    ),
    limit: int = typer.Option(50, min=1, max=10_000, help="How many, latest first."),
) -> None:
    """The latest delivery attempts of incident notifications, one per line."""
    from opsassist.cli._database import on_database
    from opsassist.cli.services import endpoints_or_exit
    from opsassist.settings import get_settings
    from opsassist.store.notifications import recent_deliveries

    endpoints = endpoints_or_exit(get_settings())
    rows = on_database(
        endpoints.database_url, lambda conn: recent_deliveries(conn, incident, status, limit)
    )
    for row in rows:
        at = row.at.isoformat(timespec="seconds") if row.at else ""
        typer.echo(
            f"{at}  incident {row.incident_id}  {row.route}  {row.transition}  "
            f"attempt {row.attempt}  {row.status}  {row.http_status or '-'}  {row.error or ''}"
        )
