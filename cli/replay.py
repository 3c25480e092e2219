"""``opsassist replay tickets|commits``: re-run processing over a range of raw events with
another processing version; ``--dry-run`` shows what would change (docs/schema-evolution.md)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console

from opsassist.cli.progress import progress_bar

# The replay machinery (settings, Kafka client, stages) is imported when a replay runs, not
# whenever the CLI starts (docs/decisions/0003-cli-startup.md).
if TYPE_CHECKING:
    from opsassist.settings import Settings
    from opsassist.store.replay import ReplayRange
    from opsassist.streams.agents.replay import ReplayReport, Source

app = typer.Typer(
    help="Re-run processing over a time or offset range of raw events with another processing "
    "version; changed results become new versions of the entities (history), never new rows.",
    no_args_is_help=True,
)
console = Console(stderr=True, soft_wrap=True)
_OFFSETS = re.compile(r"^(\d+):(\d+)-(\d+)$")

Since = Annotated[
    str | None, typer.Option(help="Start of the time range (ISO 8601, inclusive): event time.")
]
Until = Annotated[str | None, typer.Option(help="End of the time range (ISO 8601, exclusive).")]
Offsets = Annotated[
    list[str] | None,
    typer.Option(
        "--offsets", help="PARTITION:START-END of the raw topic (END exclusive); repeatable."
    ),
]


class ReplaySource(StrEnum):
    """Where ``--source`` reads the raw events from."""

    AUTO = "auto"
    KAFKA = "kafka"
    STORE = "store"


SourceOption = Annotated[
    ReplaySource,
    typer.Option(
        help="auto: Kafka while it still holds the range, else the stored raw events; "
        "kafka or store: only that one."
    ),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]
Label = Annotated[
    str | None,
    typer.Option(
        "--as", help="Name of the processing version, recorded as changed_by 'replay:<name>'."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
BatchSize = Annotated[int, typer.Option(min=1, help="Events per transaction.")]


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _range(since: str | None, until: str | None, offsets: list[str] | None) -> ReplayRange:
    from opsassist.store.replay import OffsetRange, ReplayRange

    spans = []
    for text in offsets or []:
        match = _OFFSETS.match(text)
        if match is None:
            raise typer.BadParameter(f"{text!r} is not PARTITION:START-END", param_hint="--offsets")
        partition, start, end = (int(g) for g in match.groups())
        spans.append(OffsetRange(partition, start, end))
    try:
        return ReplayRange(_time(since, "--since"), _time(until, "--until"), tuple(spans))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _fingerprint(kind: str, *files: Path | None) -> str:
    """A processing version's default name: what it is, and a hash of the files that make it."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(b"\0" if path is None else path.read_bytes())
    return f"{kind}-{digest.hexdigest()[:12]}"


async def _choose_source(
    source: str,
    kafka: str,
    topic: str,
    replay_range: ReplayRange,
    stored: dict[int, tuple[int, int]],
) -> tuple[Source, str | None]:
    from aiokafka.errors import KafkaError

    from opsassist.streams.agents.replay import ReplayError, kafka_holds

    if source in ("store", "kafka"):
        return ("store" if source == "store" else "kafka"), None
    try:
        holds = await kafka_holds(kafka, topic, replay_range, stored)
    except (KafkaError, ReplayError, OSError) as exc:
        return "store", f"Kafka is not usable ({exc}); replaying from the stored raw events"
    if holds:
        return "kafka", None
    return "store", f"{topic} no longer holds the whole range; replaying from the stored raw events"


def _show(report: ReplayReport, as_json: bool) -> None:
    if as_json:
        typer.echo(orjson.dumps(report.as_dict(), default=str, option=orjson.OPT_INDENT_2))
        return
    what = "would change" if report.dry_run else "changed"
    lines = [
        f"replay of {report.kind} events from {report.source} as replay:{report.processing}"
        + (" (dry run: nothing written)" if report.dry_run else ""),
        f"  events read: {report.events_read}"
        + (f", not decodable: {report.invalid}" if report.invalid else ""),
        f"  events the store lacked: {report.not_stored}"
        + (" (would be stored)" if report.dry_run and report.not_stored else ""),
    ]
    if report.kind == "ticket":
        lines.append(f"  superseded by a newer state of their ticket: {report.superseded}")
    noun = "tickets" if report.kind == "ticket" else "repositories"
    lines.append(
        f"  {noun} examined: {report.entities_examined}, {what}: {report.entities_changed}, "
        f"unchanged: {report.entities_unchanged}"
    )
    for diff in report.diffs:
        lines.append(f"  {diff['entity']} → version {diff['version']}:")
        for field, (before, after) in diff["changes"].items():
            lines.append(f"    {field}: {_short(before)} → {_short(after)}")
    typer.echo("\n".join(lines))


def _short(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 100 else text[:97] + "..."


async def _run(
    settings: Settings,
    *,
    kind: str,
    source: str,
    replay_range: ReplayRange,
    replayer_args: dict[str, Any],
    as_json: bool,
) -> None:
    from opsassist.cli.services import endpoints_or_exit
    from opsassist.store.migrations import check_schema
    from opsassist.store.pool import create_pool
    from opsassist.store.replay import stored_offsets
    from opsassist.streams.agents.replay import Replayer

    endpoints = endpoints_or_exit(settings)
    topic = settings.topics[kind]
    pool = await create_pool(endpoints.database_url)
    try:
        async with pool.acquire() as conn:
            await check_schema(conn)
            table = "ticket_events" if kind == "ticket" else "commits"
            stored = await stored_offsets(conn, table, replay_range, topic)
        chosen, note = await _choose_source(
            source, endpoints.kafka_bootstrap_servers, topic, replay_range, stored
        )
        if note:
            console.print(note)
        replayer = Replayer(pool, **replayer_args)
        run = replayer.tickets if kind == "ticket" else replayer.commits
        # The replayer reports its counts at the end (streams/agents/replay.py has no progress
        # hook), so the bar is a spinner naming what is replayed from where.
        with progress_bar(f"replaying {kind} events from {chosen}", None):
            report = await run(chosen, replay_range, topic, endpoints.kafka_bootstrap_servers)
    finally:
        await pool.close()
    _show(report, as_json)


def _execute(settings: Settings, **args: Any) -> None:
    import asyncio

    from aiokafka.errors import KafkaError

    from opsassist.store.errors import SchemaMismatch
    from opsassist.streams.agents.replay import ReplayError

    try:
        asyncio.run(_run(settings, **args))
    except (ReplayError, SchemaMismatch, KafkaError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@app.command()
def tickets(
    *,
    since: Since = None,
    until: Until = None,
    offsets: Offsets = None,
    source: SourceOption = ReplaySource.AUTO,
    triage_config: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Triage rules (default: as configured)."),
    ] = None,
    triage_model: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Triage model (default: as configured)."),
    ] = None,
    dry_run: DryRun = False,
    label: Label = None,
    as_json: AsJson = False,
    batch_size: BatchSize = 500,
) -> None:
    """Triage the tickets of the range again: a ticket whose current state is an event of the
    range gets the new triage as a new version where it differs."""
    from opsassist.settings import get_settings
    from opsassist.streams.agents.tickets import TicketTriage, load_model
    from opsassist.streams.triage import TriageError, Triager
    from opsassist.streams.triage import load_config as load_triage_config

    settings = get_settings()
    replay_range = _range(since, until, offsets)
    config_path = triage_config or settings.triage_config
    model_path = triage_model or settings.triage_model_path
    try:
        triage = TicketTriage(Triager(load_triage_config(config_path), load_model(model_path)))
    except TriageError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    name = label or _fingerprint("triage", config_path, model_path)
    args = {"processing": name, "dry_run": dry_run, "batch_size": batch_size, "triage": triage}
    _execute(
        settings,
        kind="ticket",
        source=source.value,
        replay_range=replay_range,
        replayer_args=args,
        as_json=as_json,
    )


@app.command()
def commits(
    *,
    since: Since = None,
    until: Until = None,
    offsets: Offsets = None,
    source: SourceOption = ReplaySource.AUTO,
    changelog_config: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Changelog configuration (default: as configured)."
        ),
    ] = None,
    dry_run: DryRun = False,
    label: Label = None,
    as_json: AsJson = False,
) -> None:
    """Rebuild the changelog of every repository with a commit in the range: releases whose
    content differs get a new version (the LLM polish is not re-run)."""
    from opsassist.settings import get_settings
    from opsassist.streams.changelog import InvalidConfig
    from opsassist.streams.changelog import load_config as load_changelog_config

    settings = get_settings()
    replay_range = _range(since, until, offsets)
    config_path = changelog_config or settings.changelog_config
    try:
        config = load_changelog_config(config_path, settings.changelog_repository_url or None)
    except InvalidConfig as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    name = label or _fingerprint("changelog", config_path)
    args = {"processing": name, "dry_run": dry_run, "changelog": config}
    _execute(
        settings,
        kind="commit",
        source=source.value,
        replay_range=replay_range,
        replayer_args=args,
        as_json=as_json,
    )
