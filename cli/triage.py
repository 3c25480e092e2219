"""``opsassist triage classify|train|evaluate``: the triage stage from the command line."""

from __future__ import annotations

import csv
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console

from opsassist.cli._database import on_database
from opsassist.cli.progress import progress_bar

# scikit-learn takes seconds to import, pydantic-settings a fifth of one: only the triage commands
# pay for them (docs/decisions/0003-cli-startup.md)
if TYPE_CHECKING:
    import asyncpg

    from opsassist.store.triage_models import TrainingTicket
    from opsassist.streams.triage import (
        EvaluationReport,
        Ticket,
        TrainingExample,
        Triage,
        TriageConfig,
    )

T = TypeVar("T")

app = typer.Typer(
    help="Ticket triage: classify, train and store models, evaluate.", no_args_is_help=True
)
console = Console(stderr=True)


class TriageOutput(StrEnum):
    """What ``triage classify --format`` writes on stdout."""

    JSON = "json"
    TEXT = "text"


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Triage TOML (default: OPSASSIST_TRIAGE_CONFIG or built-in)."),
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(1)


def _config(path: Path | None) -> TriageConfig:
    from opsassist.settings import get_settings
    from opsassist.streams.triage import TriageError, load_config

    try:
        return load_config(path or get_settings().triage_config)
    except (TriageError, OSError) as exc:
        raise _fail(str(exc)) from None


def _ticket(record: dict[str, Any]) -> Ticket:
    from opsassist.streams.triage import Ticket

    if isinstance(record.get("payload"), dict):  # a ticket event envelope, as produced to Kafka
        record = record["payload"]
    labels = record.get("labels") or []
    return Ticket(
        title=str(record.get("title") or ""),
        body=str(record.get("body") or record.get("description") or ""),
        labels=tuple(str(label) for label in labels),
        source=str(record.get("source") or record.get("source_system") or ""),
        reporter_group=str(record.get("reporter_group") or ""),
        id=str(record.get("id") or record.get("external_id") or ""),
    )


def tickets_from_text(text: str) -> list[Ticket]:
    """A JSON object, a JSON array of objects, JSON lines, or else plain text (first line the
    title, the rest the body)."""
    from opsassist.streams.triage import Ticket

    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            parsed = orjson.loads(stripped)
            records = parsed if isinstance(parsed, list) else [parsed]
        except orjson.JSONDecodeError:
            records = [orjson.loads(line) for line in stripped.splitlines() if line.strip()]
        return [_ticket(r) for r in records]
    title, _, body = stripped.partition("\n")
    return [Ticket(title=title.strip(), body=body.strip())]


def _text_line(result: Triage) -> str:
    category = result.category or f"needs-triage (best: {result.suggested_category or '-'})"
    return (
        f"{result.ticket_id or '-'}\t{category}\t{result.priority}\t{result.team}\t"
        f"{result.confidence:.2f}\t{result.explanation.summary}"
    )


@app.command()
def classify(
    config: ConfigOption = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Model file (default: OPSASSIST_TRIAGE_MODEL_PATH; none: rules only)."),
    ] = None,
    output: Annotated[
        TriageOutput,
        typer.Option("--format", help="One JSON object a line, or tab-separated text."),
    ] = TriageOutput.JSON,
) -> None:
    """Triage tickets read from stdin (JSON object/array/lines, or plain text)."""
    from opsassist.settings import get_settings
    from opsassist.streams.triage import TriageError, TriageModel, Triager

    triage_config = _config(config)
    model_path = model or get_settings().triage_model_path
    try:
        loaded = TriageModel.from_bytes(model_path.read_bytes()) if model_path else None
        tickets = tickets_from_text(sys.stdin.read())
    except (TriageError, OSError, orjson.JSONDecodeError) as exc:
        raise _fail(str(exc)) from None
    results = Triager(triage_config, loaded).triage_batch(tickets)
    for result in results:
        if output is TriageOutput.TEXT:
            typer.echo(_text_line(result))
        else:
            typer.echo(orjson.dumps(result.to_dict()).decode())


def _read_training_file(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        text = path.read_text(encoding="utf-8")
        parsed = orjson.loads(text) if text.lstrip().startswith("[") else None
        if isinstance(parsed, list):
            return parsed
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8") as fh:
        return [
            {**row, "labels": [v for v in (row.get("labels") or "").split(",") if v]}
            for row in csv.DictReader(fh)
        ]


def training_examples(records: list[dict[str, Any]], config: TriageConfig) -> list[TrainingExample]:
    """Examples with labels mapped onto the taxonomy (by id or alias); an unknown label is an
    error naming it, so that a typo does not silently become a class."""
    from opsassist.streams.triage import TrainingExample

    examples, unknown = [], set()
    for record in records:
        label = config.normalize_label(str(record.get("label") or record.get("category") or ""))
        if label is None:
            unknown.add(str(record.get("label") or record.get("category")))
            continue
        examples.append(TrainingExample(_ticket(record), label))
    if unknown:
        raise _fail(f"labels not in the taxonomy (add them as aliases?): {sorted(unknown)}")
    return examples


def _database_url() -> str:
    from opsassist.cli.services import endpoints_or_exit
    from opsassist.settings import get_settings

    return endpoints_or_exit(get_settings()).database_url


def _with_connection(action: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    import asyncpg

    url = _database_url()

    try:
        return on_database(url, action)
    except asyncpg.UndefinedTableError:
        raise _fail("the triage tables are missing; run `opsassist migrate`") from None
    except (OSError, asyncpg.PostgresError) as exc:
        raise _fail(f"database: {exc}") from None


def stored_training_examples(
    rows: list[TrainingTicket], config: TriageConfig
) -> tuple[list[TrainingExample], dict[str, int]]:
    """Examples from stored tickets: corrections, then source labels, then resolved tickets."""
    from opsassist.streams.triage import StoredTicket, Ticket, training_examples_from_tickets

    return training_examples_from_tickets(
        (
            StoredTicket(
                ticket=Ticket(
                    title=row.title,
                    body=row.body,
                    labels=row.labels,
                    source=row.source_system,
                    id=row.external_id,
                ),
                category=row.category,
                corrected=row.corrected,
                resolved=row.resolved,
            )
            for row in rows
        ),
        config,
    )


@app.command()
def train(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Labelled CSV or JSONL: title, body, label. Without it: the tickets stored in "
            "PostgreSQL (corrected by people, labelled at the source, or resolved)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the model to this file; without it the model is stored in "
                     "PostgreSQL as the newest active one, which workers load."),
    ] = None,
    config: ConfigOption = None,
) -> None:  # fmt: skip
    """Train a model from labelled tickets (a file, or the tickets stored in PostgreSQL) and
    store it in PostgreSQL (workers swap it in without a restart) or write it to a file."""
    from opsassist.store.triage_models import save_model, training_tickets
    from opsassist.streams.triage import TriageError, train_model

    triage_config = _config(config)
    trained_on: dict[str, Any]
    if file is not None:
        try:
            examples = training_examples(_read_training_file(file), triage_config)
        except (OSError, orjson.JSONDecodeError) as exc:
            raise _fail(str(exc)) from None
        trained_on = {"file": file.name}
    else:
        rows = _with_connection(training_tickets)
        examples, origins = stored_training_examples(rows, triage_config)
        trained_on = dict(origins)
    try:
        # one scikit-learn fit (with its inner cross-validation): a spinner, not a count
        with progress_bar(f"training on {len(examples):,} examples", None):
            model = train_model(examples)
    except TriageError as exc:
        raise _fail(f"{exc} ({len(examples)} examples)") from None
    meta = model.meta
    trained_on |= {"examples": meta["examples"], "class_counts": meta["class_counts"]}
    metrics = {"inner_cv_macro_f1": meta["inner_cv_macro_f1"], "c": meta["c"]}
    if out is not None:
        out.write_bytes(model.to_bytes())
        where = str(out)
    else:

        async def store(conn: asyncpg.Connection) -> int:
            return await save_model(
                conn,
                version=model.version,
                model=model.to_bytes(),
                trained_on=trained_on,
                metrics=metrics,
                created_by="cli:opsassist triage train",
            )

        _with_connection(store)
        where = "PostgreSQL (active)"
    console.print(
        f"model {model.version}: {trained_on}, C={meta['c']}, "
        f"inner-CV macro-F1 {meta['inner_cv_macro_f1']} -> {where}"
    )
    typer.echo(model.version)


@app.command()
def models(
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
) -> None:
    """The models stored in PostgreSQL, newest first; workers use the newest active one."""
    from opsassist.store.triage_models import list_models

    for stored in _with_connection(lambda conn: list_models(conn, limit)):
        state = "active" if stored.active else "inactive"
        typer.echo(
            f"{stored.version}\t{state}\t{stored.created_at:%Y-%m-%d %H:%M:%S%z}\t"
            f"{stored.created_by}\t{orjson.dumps(stored.trained_on).decode()}\t"
            f"{orjson.dumps(stored.metrics).decode()}"
        )


def _set_active(version: str, active: bool) -> None:
    from opsassist.store.triage_models import set_model_active

    if not _with_connection(lambda conn: set_model_active(conn, version, active)):
        raise _fail(f"no stored model has version {version!r}")
    console.print(f"model {version} {'activated' if active else 'deactivated'}")


@app.command()
def activate(version: Annotated[str, typer.Argument(help="A version from `models`.")]) -> None:
    """Make a stored model active again (workers use the newest active one)."""
    _set_active(version, True)


@app.command()
def deactivate(version: Annotated[str, typer.Argument(help="A version from `models`.")]) -> None:
    """Stop using a stored model; deactivating the newest rolls workers back to the previous."""
    _set_active(version, False)


def _print_report(report: EvaluationReport) -> None:
    for repo, score in report.per_repo.items():
        typer.echo(
            f"{repo}: macro-F1 {score.macro_f1:.4f} (train {score.n_train}, test {score.n_test})"
        )
        width = max(len(label) for label in score.labels)
        typer.echo(
            "  "
            + " " * width
            + "  "
            + "  ".join(f"{p:>{width}}" for p in score.labels)
            + "   <- predicted"
        )
        for label, row in zip(score.labels, score.confusion, strict=True):
            typer.echo(f"  {label:>{width}}  " + "  ".join(f"{v:>{width}}" for v in row))
    typer.echo(f"mean macro-F1 over {len(report.per_repo)} repos: {report.mean_macro_f1:.4f}")


@app.command()
def evaluate(
    train_file: Annotated[Path, typer.Option("--train", help="CSV: repo,label,title,body.")],
    test_file: Annotated[
        Path | None,
        typer.Option("--test", help="CSV: repo,label,title,body. Without it: --folds CV."),
    ] = None,
    folds: Annotated[
        int, typer.Option(min=2, help="Stratified folds per repo when there is no --test.")
    ] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """One model per repo trained on --train, scored on the same repo in --test (or by
    stratified cross-validation within --train): macro-F1 per repo, their mean, and a
    confusion matrix (the learned layer alone; labels as given)."""
    from opsassist.streams.triage import (
        TriageError,
        cross_validate_per_repo,
        evaluate_per_repo,
        read_labelled_csv,
    )

    try:
        train_rows = read_labelled_csv(train_file)
        if test_file is None:
            report = cross_validate_per_repo(train_rows, folds=folds)
        else:
            report = evaluate_per_repo(train_rows, read_labelled_csv(test_file))
    except (TriageError, OSError, ValueError) as exc:  # ValueError: a class with < folds rows
        raise _fail(str(exc)) from None
    if not report.per_repo:
        raise _fail("no repo appears in both files")
    if as_json:
        typer.echo(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_report(report)
