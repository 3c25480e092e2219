"""``opsassist produce logs|commits|tickets``: send files and git history to the raw topics."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from opsassist.cli.gitrepo import GitError

# The settings, the event contracts and the Kafka client load inside the commands: the CLI
# starts without them (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    from opsassist.schemas import AnyEvent

app = typer.Typer(
    help="Produce events to Kafka from files and git repositories.", no_args_is_help=True
)
console = Console(stderr=True)


def _send(events: Iterable[AnyEvent], what: str, total: int | None) -> int:
    import asyncio

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from opsassist.bus.producer import produce_events
    from opsassist.bus.topics import ensure_topics
    from opsassist.endpoints import ServicesError, resolve_endpoints
    from opsassist.schemas import InvalidEvent
    from opsassist.settings import get_settings

    settings = get_settings()
    try:
        endpoints = resolve_endpoints(settings)
    except ServicesError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    asyncio.run(ensure_topics(endpoints.kafka_bootstrap_servers, settings))
    with Progress(
        TextColumn(f"producing {what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(what, total=total)
        try:
            sent = asyncio.run(
                produce_events(
                    endpoints.kafka_bootstrap_servers,
                    settings.topics,
                    events,
                    on_sent=lambda n: progress.advance(task, n),
                )
            )
        except (InvalidEvent, GitError) as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
    console.print(f"[green]{sent:,}[/] {what} produced and acknowledged by Kafka.")
    return sent


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist or is not a file")
    return path


@app.command()
def logs(
    file: Annotated[Path, typer.Argument(help="Plain text lines or NDJSON.")],
    service: Annotated[
        str | None, typer.Option(help="Service name; default: the file's stem.")
    ] = None,
) -> None:
    """Produce one log event per line of FILE."""
    from opsassist.cli.readers import log_events_from_file

    _existing(file)
    _send(log_events_from_file(file, service or file.stem), "log events", _count_lines(file))


@app.command()
def commits(
    git: Annotated[Path, typer.Option("--git", help="Path of a git repository.")],
    rev_range: Annotated[
        str | None, typer.Option("--range", help="A..B; default: all of HEAD.")
    ] = None,
    repo: Annotated[
        str | None, typer.Option(help="Repository name; default: the directory name.")
    ] = None,
) -> None:
    """Produce one commit event per commit (with its tags) of a git repository."""
    from opsassist.cli.readers import commit_events_from_git

    try:
        events = list(commit_events_from_git(git, rev_range, repo))
    except GitError as exc:
        raise typer.BadParameter(str(exc)) from None
    _send(events, "commit events", len(events))


@app.command()
def tickets(
    file: Annotated[Path, typer.Argument(help="JSONL (one ticket a line) or CSV with a header.")],
    source: Annotated[
        str, typer.Option(help="Source system name for tickets that name none.")
    ] = "file",
) -> None:
    """Produce one ticket event per ticket of FILE."""
    from opsassist.cli.readers import ticket_events_from_file

    _existing(file)
    total = _count_lines(file) - (1 if file.suffix.lower() == ".csv" else 0)
    _send(
        ticket_events_from_file(file, source),
        "ticket events",
        None if file.suffix == ".csv" else total,
    )
