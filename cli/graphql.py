"""``opsassist users create|list`` (the accounts of the GraphQL API, the first admin among them)
and ``opsassist graphql schema`` (the SDL kept in api/graphql/schema.graphql)."""

from __future__ import annotations

import os
import pwd
import sys
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from opsassist.cli._database import on_database
from opsassist.cli.services import endpoints_or_exit

# The settings, the API and the driver load inside the commands: the CLI starts without them
# (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    import asyncpg

    from opsassist.store.users import StoredUser


def _operator() -> str:
    """The history's actor of a change made on the command line: ``cli:<OS account>``, the
    account the process runs as (from its user id, not from $USER, which anyone can set)."""
    try:
        return f"cli:{pwd.getpwuid(os.geteuid()).pw_name}"
    except KeyError:  # an id without a passwd entry (a container run with --user 1234)
        return f"cli:uid-{os.geteuid()}"


users_app = typer.Typer(help="Accounts of the GraphQL API.", no_args_is_help=True)
graphql_app = typer.Typer(help="The GraphQL API's schema.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


class Role(StrEnum):
    """The roles of ``users create --role``; equal to ``store.users.ROLES`` (a unit test holds
    them equal; the store is not imported here, for the CLI's start-up)."""

    ADMIN = "admin"
    OPS = "ops"
    HR = "hr"


@users_app.command()
def create(
    username: str = typer.Option(..., help="The login name (unique, compared without case)."),
    role: Role = typer.Option(..., help="What the account may see and do (docs/graphql.md)."),  # noqa: B008
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin instead of prompting."
    ),
) -> None:
    """Create an account; this is how the first admin is made (signup is closed by default)."""
    import asyncpg

    from opsassist.api.graphql.accounts import USERNAME
    from opsassist.api.graphql.sessions import hash_password, password_problem
    from opsassist.settings import get_settings
    from opsassist.store.history import Actor, set_actor
    from opsassist.store.users import DuplicateUsername, insert_user

    settings = get_settings()
    if not USERNAME.match(username):
        console.print("[red]error:[/] a username has 2 to 64 letters, digits or . _ @ -")
        raise typer.Exit(2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem is not None:
        console.print(f"[red]error:[/] {problem}")
        raise typer.Exit(2)
    url = endpoints_or_exit(settings).database_url
    password_hash = hash_password(password, settings.graphql_bcrypt_rounds)

    operator = _operator()

    async def create(conn: asyncpg.Connection) -> StoredUser:
        async with conn.transaction():
            await set_actor(conn, Actor(operator))
            return await insert_user(conn, username, role.value, password_hash, operator)

    try:
        user = on_database(url, create)
    except DuplicateUsername as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except asyncpg.UndefinedTableError:
        console.print("[red]error:[/] the users table is missing; run `opsassist migrate`")
        raise typer.Exit(1) from None
    console.print(f"created user {user.username} (id {user.id}, role {user.role})")


@users_app.command("list")
def list_users() -> None:
    """The accounts (never their passwords)."""
    from opsassist.settings import get_settings
    from opsassist.store.paging import PageRequest
    from opsassist.store.users import users_page

    url = endpoints_or_exit(get_settings()).database_url

    async def listed(conn: asyncpg.Connection) -> list[StoredUser]:
        return (await users_page(conn, PageRequest(first=10_000), 10_000)).rows

    table = Table("id", "username", "role", "created", "disabled")
    for u in on_database(url, listed):
        disabled = f"{u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else ""
        table.add_row(str(u.id), u.username, u.role, f"{u.created_at:%Y-%m-%d %H:%M}", disabled)
    Console().print(table)


@graphql_app.command()
def schema(
    check: bool = typer.Option(False, help="Fail (exit 1) if the file differs instead of writing."),
    output: Path | None = typer.Option(  # noqa: B008
        None, help="Where the SDL goes (default: the package's api/graphql/schema.graphql)."
    ),
) -> None:
    """Write the GraphQL schema (SDL) to api/graphql/schema.graphql, or check that it is current."""
    from opsassist.api.graphql import schema_sdl

    sdl = schema_sdl()
    # Package data beside the code that defines the schema, so that an installed wheel carries
    # it; in a checkout (the editable install) the package's file is the one in the source tree.
    # Looked up here, not at import: resources.files imports opsassist.api.graphql
    # (docs/decisions/0003).
    schema_file = resources.files("opsassist.api.graphql").joinpath("schema.graphql")
    with resources.as_file(schema_file) as packaged:
        target = output or packaged
        if check:
            current = target.read_text() if target.exists() else ""
            if current != sdl:
                console.print(f"[red]error:[/] {target} is stale: run `opsassist graphql schema`")
                raise typer.Exit(1)
            console.print(f"{target} is current")
            return
        target.write_text(sdl)
        console.print(f"wrote {target}")
