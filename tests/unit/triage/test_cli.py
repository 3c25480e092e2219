from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from opsassist.cli import app
from opsassist.streams.triage import LabelledRow, TriageModel
from tests.unit.triage.examples import EXAMPLES
from tests.unit.triage.test_evaluation import write_csv

runner = CliRunner()


def test_classify_json_on_stdin_prints_the_triage_as_json() -> None:
    ticket = {"id": "OPS-7", "title": "Need access to the prod dashboard", "labels": ["x"]}
    result = runner.invoke(app, ["triage", "classify"], input=json.dumps(ticket))
    assert result.exit_code == 0, result.output
    triage = json.loads(result.stdout)
    assert triage["ticket_id"] == "OPS-7"
    assert triage["category"] == "access_request"
    assert triage["explanation"]["rule"] == "access-request-phrase"


def test_classify_plain_text_prints_one_text_line() -> None:
    result = runner.invoke(
        app, ["triage", "classify", "--format", "text"], input="Refund request\nInvoice 12 is wrong"
    )
    assert result.exit_code == 0, result.output
    fields = result.stdout.strip().split("\t")
    assert fields[1:4] == ["billing", "P3", "finance"]


def test_train_writes_a_model_that_classify_loads(tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(
                {
                    "title": e.ticket.title,
                    "body": e.ticket.body,
                    "label": {"incident": "bug"}.get(e.label, e.label),
                }
            )
            for e in EXAMPLES
        )
    )
    model_path = tmp_path / "model.bin"
    trained = runner.invoke(app, ["triage", "train", str(data), "--out", str(model_path)])
    assert trained.exit_code == 0, trained.output
    model = TriageModel.from_bytes(model_path.read_bytes())
    assert set(model.classes) == {"incident", "feature_request", "question"}  # "bug" -> incident
    text = json.dumps({"title": "Crash with exception", "body": "It crashes, exception thrown"})
    classified = runner.invoke(app, ["triage", "classify", "--model", str(model_path)], input=text)
    assert json.loads(classified.stdout)["suggested_category"] == "incident"


def test_train_refuses_labels_outside_the_taxonomy(tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    data.write_text(json.dumps({"title": "x", "label": "astrology"}))
    result = runner.invoke(app, ["triage", "train", str(data), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert "astrology" in result.output


def test_evaluate_json_has_per_repo_and_mean(tmp_path: Path) -> None:
    rows = [LabelledRow(repo, e) for repo in ("a/a", "b/b") for e in EXAMPLES]
    train = write_csv(
        tmp_path / "train.csv", [r for r in rows if not r.example.ticket.id.endswith("-9")]
    )
    test = write_csv(tmp_path / "test.csv", [r for r in rows if r.example.ticket.id.endswith("-9")])
    result = runner.invoke(
        app, ["triage", "evaluate", "--train", str(train), "--test", str(test), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures["per_repo"]) == {"a/a", "b/b"}
    means = [figures["per_repo"][r]["macro_f1"] for r in ("a/a", "b/b")]
    assert abs(figures["mean_macro_f1"] - sum(means) / 2) <= 1e-4
    assert sum(map(sum, figures["per_repo"]["a/a"]["confusion_matrix"])) == 3

    text = runner.invoke(app, ["triage", "evaluate", "--train", str(train), "--test", str(test)])
    assert "mean macro-F1 over 2 repos" in text.stdout


def test_classify_reads_ticket_events_and_json_lines() -> None:
    event = {
        "id": "e1",
        "kind": "ticket",
        "payload": {
            "external_id": "OPS-9",
            "source_system": "hr-portal",
            "title": "A question",
            "body": "",
            "status": "open",
            "labels": [],
        },
    }
    plain = {"id": "OPS-10", "title": "Typo in footer", "labels": ["bug"]}
    lines = json.dumps(event) + "\n" + json.dumps(plain)
    result = runner.invoke(app, ["triage", "classify"], input=lines)
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["ticket_id"], first["category"]) == ("OPS-9", "hr")
    assert (second["category"], second["priority"]) == ("incident", "P4")


def test_evaluate_without_test_file_cross_validates(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "all.csv", [LabelledRow("a/a", e) for e in EXAMPLES])
    result = runner.invoke(
        app, ["triage", "evaluate", "--train", str(train), "--folds", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    score = json.loads(result.stdout)["per_repo"]["a/a"]
    assert len(score["fold_macro_f1"]) == 5
    assert sum(map(sum, score["confusion_matrix"])) == len(EXAMPLES)
