"""``opsassist apikey create|revoke|list``: the API keys webhook senders authenticate with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from opsassist.cli._database import on_database
from opsassist.cli.services import endpoints_or_exit

# The settings, the API's auth, the store and the driver load inside the commands: the CLI starts
# without them (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    import asyncpg

    from opsassist.store.api_keys import StoredApiKey

app = typer.Typer(help="API keys for the webhook and ingest endpoints.", no_args_is_help=True)
console = Console(stderr=True)
T = TypeVar("T")


def _with_connection(action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    import asyncpg

    from opsassist.settings import get_settings

    url = endpoints_or_exit(get_settings()).database_url

    try:
        return on_database(url, action)
    except asyncpg.UndefinedTableError:
        console.print("[red]error:[/] the api_keys table is missing; run `opsassist migrate`")
        raise typer.Exit(1) from None


@app.command()
def create(
    name: str = typer.Option(..., help="Who the key is for (unique among active keys)."),
    scope: list[str] = typer.Option(  # noqa: B008
        ...,
        help="A source the key may send: logs, events, tickets:<source>, tickets:* or *. "
        "Repeat for several.",
    ),
) -> None:
    """Create a key; it is printed once (on stdout) and only its hash is stored."""
    from opsassist.api.webhooks.auth import (
        InvalidScope,
        generate_api_key,
        hash_secret,
        validate_scopes,
    )
    from opsassist.store.api_keys import DuplicateKeyName, insert_api_key

    try:
        scopes = validate_scopes(scope)
    except InvalidScope as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    key = generate_api_key()

    async def insert(conn: asyncpg.Connection) -> StoredApiKey:
        return await insert_api_key(conn, key.key_id, name, hash_secret(key.secret), scopes)

    try:
        stored = _with_connection(insert)
    except DuplicateKeyName as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(
        f"created key {stored.key_id} ({stored.name}) for {', '.join(stored.scopes)}; "
        "it is shown once, store it now:"
    )
    print(key.token)  # the one line a script captures


@app.command()
def revoke(key: str = typer.Argument(..., help="The key id or the key's name.")) -> None:
    """Revoke a key; senders using it get 401 (within the API's key cache delay)."""
    from opsassist.store.api_keys import revoke_api_key

    async def run(conn: asyncpg.Connection) -> list[str]:
        return await revoke_api_key(conn, key)

    revoked = _with_connection(run)
    if not revoked:
        console.print(f"[red]error:[/] no active key has the id or name {key!r}")
        raise typer.Exit(1)
    console.print(f"revoked {', '.join(revoked)}")


@app.command("list")
def list_keys() -> None:
    """The keys, active and revoked (never their secrets)."""
    from opsassist.store.api_keys import list_api_keys

    keys = _with_connection(list_api_keys)
    table = Table("id", "name", "scopes", "created", "revoked")
    for k in keys:
        table.add_row(
            k.key_id,
            k.name,
            " ".join(k.scopes),
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    Console().print(table)
