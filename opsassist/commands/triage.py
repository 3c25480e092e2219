"""``opsassist triage classify|train|evaluate``: the triage stage from the command line."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console

from opsassist.settings import get_settings

if TYPE_CHECKING:  # scikit-learn takes seconds to import: only the triage commands pay for it
    from streams.triage import EvaluationReport, Ticket, TrainingExample, Triage, TriageConfig

app = typer.Typer(help="Ticket triage: classify, train a model, evaluate.", no_args_is_help=True)
console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Triage TOML (default: OPSASSIST_TRIAGE_CONFIG or built-in)."),
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(1)


def _config(path: Path | None) -> TriageConfig:
    from streams.triage import TriageError, load_config

    try:
        return load_config(path or get_settings().triage_config)
    except (TriageError, OSError) as exc:
        raise _fail(str(exc)) from None


def _ticket(record: dict[str, Any]) -> Ticket:
    from streams.triage import Ticket

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
    from streams.triage import Ticket

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
    output: Annotated[str, typer.Option("--format", help="json or text.")] = "json",
) -> None:
    """Triage tickets read from stdin (JSON object/array/lines, or plain text)."""
    from streams.triage import TriageError, TriageModel, Triager

    if output not in ("json", "text"):
        raise _fail(f"--format must be json or text, not {output!r}")
    triage_config = _config(config)
    model_path = model or get_settings().triage_model_path
    try:
        loaded = TriageModel.from_bytes(model_path.read_bytes()) if model_path else None
        tickets = tickets_from_text(sys.stdin.read())
    except (TriageError, OSError, orjson.JSONDecodeError) as exc:
        raise _fail(str(exc)) from None
    results = Triager(triage_config, loaded).triage_batch(tickets)
    for result in results:
        if output == "text":
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
    from streams.triage import TrainingExample

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


@app.command()
def train(
    file: Annotated[Path, typer.Argument(help="Labelled CSV or JSONL: title, body, label.")],
    out: Annotated[Path, typer.Option(help="Where to write the model bytes.")],
    config: ConfigOption = None,
) -> None:
    """Train a model from labelled tickets and write it to a file."""
    from streams.triage import TriageError, train_model

    triage_config = _config(config)
    try:
        examples = training_examples(_read_training_file(file), triage_config)
        model = train_model(examples)
    except (TriageError, OSError, orjson.JSONDecodeError) as exc:
        raise _fail(str(exc)) from None
    out.write_bytes(model.to_bytes())
    meta = model.meta
    console.print(
        f"model {model.version}: {meta['examples']} examples {meta['class_counts']}, "
        f"C={meta['c']}, inner-CV macro-F1 {meta['inner_cv_macro_f1']} -> {out}"
    )


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
    from streams.triage import (
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
