"""``opsassist history show|versions|list``: any tracked entity as of a time, its versions with
their diffs, and a page of entities as of a time (store/history.py; docs/history.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from opsassist.cli._database import on_database
from opsassist.cli.services import endpoints_or_exit

# The settings, the store and the driver load inside the commands: the CLI starts without them
# (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    import asyncpg

    from opsassist.store.history import EntityState

app = typer.Typer(
    help="Versioned history: entities as of a time, their versions and diffs.",
    no_args_is_help=True,
)
console = Console(stderr=True)
T = TypeVar("T")

_AS_OF_HELP = "ISO 8601 time with a zone (2026-11-20T12:00:00Z); default: now."


def _with_connection(action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    import asyncpg

    from opsassist.settings import get_settings
    from opsassist.store.history import UnknownEntity

    url = endpoints_or_exit(get_settings()).database_url

    try:
        return on_database(url, action)
    except UnknownEntity as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    except asyncpg.UndefinedTableError:
        console.print("[red]error:[/] no history tables; run `opsassist migrate`")
        raise typer.Exit(1) from None


def _time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        console.print(f"[red]error:[/] --as-of {text!r} is not an ISO 8601 time")
        raise typer.Exit(2) from None
    if at.tzinfo is None:
        console.print(f"[red]error:[/] --as-of {text!r} has no time zone (add Z or +02:00)")
        raise typer.Exit(2)
    return at


def _entity_json(found: EntityState) -> dict[str, Any]:
    return {
        "id": found.id,
        "version": found.version,
        "changed_at": found.changed_at.isoformat(),
        "changed_by": found.changed_by,
        "state": found.state,
    }


def _print_json(value: object) -> None:
    print(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


@app.command()
def show(
    entity: str = typer.Argument(..., help="The table: tickets, changelog_releases, ..."),
    entity_id: int = typer.Argument(..., help="The row's id."),
    as_of_time: str | None = typer.Option(None, "--as-of", help=_AS_OF_HELP),
) -> None:
    """The entity as it was at a time (JSON); exit 1 if it did not exist then."""
    from opsassist.store.history import as_of

    at = _time(as_of_time)
    found = _with_connection(lambda conn: as_of(conn, entity, entity_id, at))
    if found is None:
        console.print(f"{entity} {entity_id} did not exist at {at.isoformat()}")
        raise typer.Exit(1)
    _print_json(_entity_json(found))


def _value(value: object) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


@app.command("versions")
def list_versions(
    entity: str = typer.Argument(..., help="The table: tickets, changelog_releases, ..."),
    entity_id: int = typer.Argument(..., help="The row's id."),
    as_json: bool = typer.Option(False, "--json", help="Every field of every version, as JSON."),
) -> None:
    """Every version, oldest first: when, who, the kind of change and each field's old → new."""
    from opsassist.store.history import versions

    found = _with_connection(lambda conn: versions(conn, entity, entity_id))
    if not found:
        console.print(f"{entity} {entity_id} has no history")
        raise typer.Exit(1)
    if as_json:
        _print_json(
            [
                {
                    "version": v.version,
                    "changed_at": v.changed_at.isoformat(),
                    "change_kind": v.change_kind,
                    "changed_by": v.changed_by,
                    "model": v.model,
                    "prompt_version": v.prompt_version,
                    "db_user": v.db_user,
                    "application_name": v.application_name,
                    "transaction_id": v.transaction_id,
                    "event_id": v.event_id,
                    "diff": {k: {"old": c.old, "new": c.new} for k, c in v.diff.items()},
                }
                for v in found
            ]
        )
        return
    table = Table("version", "changed at", "kind", "by", "model / prompt", "changes")
    for v in found:
        model = " / ".join(x for x in (v.model, v.prompt_version) if x)
        changes = "\n".join(
            f"{k}: {_value(c.old)} → {_value(c.new)}" for k, c in sorted(v.diff.items())
        )
        table.add_row(
            str(v.version), v.changed_at.isoformat(), v.change_kind, v.changed_by, model, changes
        )
    Console().print(table)


@app.command("list")
def list_entities(
    entity: str = typer.Argument(..., help="The table: tickets, changelog_releases, ..."),
    as_of_time: str | None = typer.Option(None, "--as-of", help=_AS_OF_HELP),
    where: list[str] = typer.Option(  # noqa: B008
        [],
        help="field=value the state then must have (value as JSON, else a string); repeat.",
    ),
    after: int = typer.Option(0, help="Only ids above this (the previous page's next_after)."),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """The entities that existed at a time, as they were then, in id order (JSON)."""
    from opsassist.store.history import list_as_of

    at = _time(as_of_time)
    filters: dict[str, Any] = {}
    for item in where:
        field, sep, raw = item.partition("=")
        if not sep or not field:
            console.print(f"[red]error:[/] --where {item!r} is not field=value")
            raise typer.Exit(2)
        try:
            filters[field] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            filters[field] = raw
    page = _with_connection(
        lambda conn: list_as_of(conn, entity, at, where=filters, after=after, limit=limit)
    )
    _print_json({"items": [_entity_json(e) for e in page.items], "next_after": page.next_after})
