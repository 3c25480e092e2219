"""``opsassist incidents list|ack|assign|resolve``: the incident lifecycle from a terminal, with
the same rules, history and idempotency as the GraphQL mutations (api/workflow/incidents.py;
docs/incidents.md)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from opsassist.cli._database import on_database
from opsassist.cli.services import endpoints_or_exit

# The settings, the store, the workflow and the driver load inside the commands: the CLI starts
# without them (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    import asyncpg

    from opsassist.api.workflow.incidents import Action, IncidentResult

app = typer.Typer(
    help="Incidents: list them, acknowledge, assign and resolve them as a person.",
    no_args_is_help=True,
)
console = Console(stderr=True)
T = TypeVar("T")

_BY = typer.Option(..., "--by", help="Your login: the history records the change as user:<login>.")
_VERSION = typer.Option(
    None,
    "--expected-version",
    help="The version you decided on (from `incidents list`); refused if the incident changed "
    "since. Default: its current version.",
)
_KEY = typer.Option(
    None,
    "--idempotency-key",
    help="Run the command again with the same key to repeat it safely; default: a new key.",
)


@app.command("list")
def list_incidents(
    status: list[str] = typer.Option(  # noqa: B008
        [], "--status", help="open, acknowledged or resolved (repeatable); default: all."
    ),
    service: list[str] = typer.Option([], "--service", help="Repeatable."),  # noqa: B008
    limit: int = typer.Option(20, min=1, max=500, help="At most this many, newest first."),
) -> None:
    """Incidents, most recently opened first: id, version, status, severity, service, assignee."""
    from opsassist.store.logs import IncidentFilter, incidents_page
    from opsassist.store.paging import PageRequest

    store_filter = IncidentFilter(services=service or None, statuses=status or None)

    async def read(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        page = await incidents_page(conn, store_filter, True, PageRequest(first=limit), limit)
        return list(page.rows)

    rows = _on_database(read)
    table = Table("id", "version", "status", "severity", "service", "assignee", "opened at")
    for row in rows:
        table.add_row(
            str(row["id"]), str(row["version"]), row["status"], row["severity"], row["service"],
            row["assignee"] or "", row["opened_at"].isoformat(),
        )  # fmt: skip
    Console().print(table)


@app.command("ack")
def acknowledge(
    incident_id: int = typer.Argument(..., help="The incident's id."),
    by: str = _BY,
    reason: str | None = typer.Option(None, help="Why, if worth saying."),
    expected_version: int | None = _VERSION,
    idempotency_key: str | None = _KEY,
) -> None:
    """Acknowledge an open incident: someone is on it."""
    from opsassist.api.workflow.incidents import Action

    _change(incident_id, Action.ACKNOWLEDGE, by, expected_version, idempotency_key, reason=reason)


@app.command("assign")
def assign(
    incident_id: int = typer.Argument(..., help="The incident's id."),
    assignee: str = typer.Argument(..., help="The login of the user who owns it from now."),
    *,
    by: str = _BY,
    reason: str | None = typer.Option(None, help="Why, if worth saying."),
    expected_version: int | None = _VERSION,
    idempotency_key: str | None = _KEY,
) -> None:
    """Assign an incident to a user."""
    from opsassist.api.workflow.incidents import Action

    _change(
        incident_id, Action.ASSIGN, by, expected_version, idempotency_key, reason=reason,
        assignee=assignee,
    )  # fmt: skip


@app.command("resolve")
def resolve(
    incident_id: int = typer.Argument(..., help="The incident's id."),
    by: str = _BY,
    reason: str = typer.Option(..., help="Why it is resolved (the history keeps it)."),
    expected_version: int | None = _VERSION,
    idempotency_key: str | None = _KEY,
) -> None:
    """Resolve an open or acknowledged incident; the detector reopens it only on a new spike."""
    from opsassist.api.workflow.incidents import Action

    _change(incident_id, Action.RESOLVE, by, expected_version, idempotency_key, reason=reason)


def _on_database(action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    import asyncpg

    from opsassist.settings import get_settings

    url = endpoints_or_exit(get_settings()).database_url
    try:
        return on_database(url, action)
    except (asyncpg.UndefinedColumnError, asyncpg.UndefinedTableError):
        console.print("[red]error:[/] no incident lifecycle here; run `opsassist migrate`")
        raise typer.Exit(1) from None


def _change(
    incident_id: int,
    action: Action,
    by: str,
    expected_version: int | None,
    idempotency_key: str | None,
    *,
    reason: str | None = None,
    assignee: str | None = None,
) -> None:
    """Make the change as the person ``by``; print the new version, or why not (exit 1)."""
    from opsassist.api.workflow.incidents import IncidentChange, IncidentWorkflow
    from opsassist.settings import get_settings
    from opsassist.store.incidents import incident_version
    from opsassist.streams.privacy import IdempotencyKeyDigest, Redactor

    settings = get_settings()
    key = idempotency_key or str(uuid.uuid4())

    async def run(conn: asyncpg.Connection) -> IncidentResult:
        version = expected_version
        if version is None:
            version = await incident_version(conn, incident_id)
        workflow = IncidentWorkflow(
            conn,
            redactor=Redactor.from_settings(settings),
            keys=IdempotencyKeyDigest.from_settings(settings),
        )
        change = IncidentChange(
            incident_id=incident_id, action=action, expected_version=version or 0,
            idempotency_key=key, actor=by, reason=reason, assignee=assignee,
        )  # fmt: skip
        return await workflow.change(change)

    _report(incident_id, _on_database(run))


def _report(incident_id: int, result: IncidentResult) -> None:
    from opsassist.api.workflow import incidents as lifecycle

    match result:
        case lifecycle.Updated():
            print(f"incident {incident_id} is at version {result.version}")
            return
        case lifecycle.Conflict():
            message = (
                f"incident {incident_id} is at version {result.current_version}, not "
                f"{result.expected_version}: someone changed it; look again (incidents list)"
            )
        case lifecycle.NotFound():
            message = f"incident {incident_id} does not exist"
        case _:
            message = result.message
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(1)
