from __future__ import annotations

import csv
from pathlib import Path

import pytest

from opsassist.settings import Settings
from opsassist.streams.triage import (
    InvalidLabelledFile,
    LabelledRow,
    ModelSpec,
    cross_validate_per_repo,
    cross_validate_pooled,
    evaluate_per_repo,
    read_labelled_csv,
)
from tests.unit.triage.examples import EXAMPLES

FAST = ModelSpec(c_grid=(4.0,))


def _rows(repo: str) -> list[LabelledRow]:
    return [LabelledRow(repo, e) for e in EXAMPLES]


def write_csv(path: Path, rows: list[LabelledRow]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["repo", "created_at", "label", "title", "body"])
        for row in rows:
            ticket = row.example.ticket
            writer.writerow([row.repo, "2024-01-01", row.example.label, ticket.title, ticket.body])
    return path


def test_one_model_per_repo_scored_on_the_same_repo() -> None:
    train = [r for r in _rows("a/a") + _rows("b/b") if not r.example.ticket.id.endswith("-9")]
    test = [r for r in _rows("a/a") if r.example.ticket.id.endswith("-9")]
    report = evaluate_per_repo(train, test, FAST)
    assert list(report.per_repo) == ["a/a"]  # b/b has no test rows
    score = report.per_repo["a/a"]
    assert score.n_test == 3
    assert score.n_train == 27
    assert sum(map(sum, score.confusion)) == 3
    assert len(score.confusion) == len(score.labels)
    assert report.mean_macro_f1 == score.macro_f1


def test_cross_validation_predicts_every_row_once_and_averages_folds() -> None:
    report = cross_validate_per_repo(_rows("a/a") + _rows("b/b"), folds=5, spec=FAST)
    assert set(report.per_repo) == {"a/a", "b/b"}
    for score in report.per_repo.values():
        assert sum(map(sum, score.confusion)) == len(EXAMPLES)
        assert len(score.fold_macro_f1) == 5
        assert score.macro_f1 == pytest.approx(sum(score.fold_macro_f1) / 5)
    as_dict = report.to_dict()
    assert set(as_dict) == {"per_repo", "mean_macro_f1"}


def test_pooled_cross_validation_adds_the_other_repos_never_the_test_fold() -> None:
    rows = _rows("a/a") + _rows("b/b")
    pooled = cross_validate_pooled(rows, folds=5, spec=FAST)
    alone = cross_validate_per_repo(rows, folds=5, spec=FAST)
    for repo, score in pooled.per_repo.items():
        assert score.n_train == alone.per_repo[repo].n_train + len(EXAMPLES)
        assert sum(map(sum, score.confusion)) == len(EXAMPLES)  # its own rows, once each
        assert len(score.fold_macro_f1) == 5
    # b/b is a copy of a/a: with it, every test row of a/a was seen in training
    assert pooled.per_repo["a/a"].macro_f1 == 1.0


def test_csv_rows_round_trip_and_missing_columns_are_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ok.csv", _rows("a/a"))
    rows = read_labelled_csv(path)
    assert [r.example.label for r in rows] == [e.label for e in EXAMPLES]
    assert rows[0].example.ticket.title == EXAMPLES[0].ticket.title
    bad = tmp_path / "bad.csv"
    bad.write_text("repo,title\nx,y\n")
    with pytest.raises(InvalidLabelledFile, match=r"\['label', 'body'\]"):
        read_labelled_csv(bad)


def test_the_nlbse_file_reads_as_five_balanced_repos() -> None:
    path = Settings().eval_data / "tickets/nlbse24_issue_report_classification/issues_train.csv"
    if not path.exists():
        pytest.skip(f"evaluation data not found at {path} (set OPSASSIST_EVAL_DATA)")
    rows = read_labelled_csv(path)
    per_repo: dict[str, set[str]] = {}
    for row in rows:
        per_repo.setdefault(row.repo, set()).add(row.example.label)
    assert len(per_repo) == 5
    assert all(labels == {"bug", "feature", "question"} for labels in per_repo.values())
