"""Per-repository evaluation of the learned layer, as the NLBSE'24 protocol does it: one model
per repository, macro-F1 over its classes, and the arithmetic mean over repositories."""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold

from opsassist.streams.triage._model import ModelSpec, TrainingExample, train_model
from opsassist.streams.triage._ticket import Ticket
from opsassist.streams.triage.errors import TriageError

REQUIRED_COLUMNS = ("repo", "label", "title", "body")


@dataclass(frozen=True, slots=True)
class LabelledRow:
    repo: str
    example: TrainingExample


@dataclass(frozen=True, slots=True)
class RepoScore:
    repo: str
    macro_f1: float
    f1_per_class: dict[str, float]
    labels: tuple[str, ...]
    #: rows = true label, columns = predicted label, both in ``labels`` order
    confusion: tuple[tuple[int, ...], ...]
    n_train: int
    n_test: int
    fold_macro_f1: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    per_repo: dict[str, RepoScore]

    @property
    def mean_macro_f1(self) -> float:
        return float(np.mean([s.macro_f1 for s in self.per_repo.values()]))

    def to_dict(self) -> dict[str, object]:
        return {
            "per_repo": {
                repo: {
                    "macro_f1": round(s.macro_f1, 4),
                    "f1_per_class": {k: round(v, 4) for k, v in s.f1_per_class.items()},
                    "labels": list(s.labels),
                    "confusion_matrix": [list(r) for r in s.confusion],
                    "n_train": s.n_train,
                    "n_test": s.n_test,
                    **(
                        {"fold_macro_f1": [round(f, 4) for f in s.fold_macro_f1]}
                        if s.fold_macro_f1
                        else {}
                    ),
                }
                for repo, s in self.per_repo.items()
            },
            "mean_macro_f1": round(self.mean_macro_f1, 4),
        }


class InvalidLabelledFile(TriageError):
    """A labelled CSV lacks a required column."""


def read_labelled_csv(path: Path) -> list[LabelledRow]:
    """Rows of a CSV with at least ``repo,label,title,body`` (extra columns are ignored)."""
    # Issue bodies with logs exceed csv's default 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidLabelledFile(f"{path}: missing column(s) {missing}")
        return [
            LabelledRow(
                repo=row["repo"],
                example=TrainingExample(
                    Ticket(title=row["title"] or "", body=row["body"] or ""), row["label"]
                ),
            )
            for row in reader
        ]


def _by_repo(rows: Iterable[LabelledRow]) -> dict[str, list[TrainingExample]]:
    grouped: dict[str, list[TrainingExample]] = defaultdict(list)
    for row in rows:
        grouped[row.repo].append(row.example)
    return dict(sorted(grouped.items()))


def _score(
    repo: str,
    truth: Sequence[str],
    predicted: Sequence[str],
    n_train: int,
    folds: tuple[float, ...] = (),
) -> RepoScore:
    labels = tuple(sorted(set(truth) | set(predicted)))
    per_class = f1_score(truth, predicted, labels=list(labels), average=None, zero_division=0)
    matrix = confusion_matrix(truth, predicted, labels=list(labels))
    return RepoScore(
        repo=repo,
        macro_f1=float(np.mean(folds)) if folds else float(np.mean(per_class)),
        f1_per_class={label: float(f) for label, f in zip(labels, per_class, strict=True)},
        labels=labels,
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
        n_train=n_train,
        n_test=len(truth),
        fold_macro_f1=folds,
    )


def _predict(
    train: Sequence[TrainingExample], test: Sequence[TrainingExample], spec: ModelSpec | None
) -> list[str]:
    model = train_model(train, spec)
    return [p.label for p in model.predict([e.ticket for e in test])]


def evaluate_per_repo(
    train: Iterable[LabelledRow], test: Iterable[LabelledRow], spec: ModelSpec | None = None
) -> EvaluationReport:
    """Train one model per repository on ``train``, score it on the same repository's ``test``.
    Repositories absent from either side are skipped."""
    train_by_repo, test_by_repo = _by_repo(train), _by_repo(test)
    scores = {}
    for repo, train_examples in train_by_repo.items():
        test_examples = test_by_repo.get(repo)
        if not test_examples:
            continue
        predicted = _predict(train_examples, test_examples, spec)
        scores[repo] = _score(
            repo, [e.label for e in test_examples], predicted, len(train_examples)
        )
    return EvaluationReport(scores)


def cross_validate_per_repo(
    rows: Iterable[LabelledRow], folds: int = 5, seed: int = 0, spec: ModelSpec | None = None
) -> EvaluationReport:
    """Stratified ``folds``-fold cross-validation per repository (shuffled with ``seed``).
    A repository's macro-F1 is the mean over its folds; its confusion matrix sums the folds,
    so every row is predicted exactly once, by a model that never saw it."""
    scores = {}
    for repo, examples in _by_repo(rows).items():
        labels = np.asarray([e.label for e in examples])
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        truth: list[str] = []
        predicted: list[str] = []
        fold_scores = []
        for train_idx, test_idx in splitter.split(np.zeros(len(examples)), labels):
            fold_pred = _predict(
                [examples[i] for i in train_idx], [examples[i] for i in test_idx], spec
            )
            fold_truth = [examples[i].label for i in test_idx]
            fold_scores.append(float(f1_score(fold_truth, fold_pred, average="macro")))
            truth += fold_truth
            predicted += fold_pred
        n_train = len(examples) * (folds - 1) // folds
        scores[repo] = _score(repo, truth, predicted, n_train, tuple(fold_scores))
    return EvaluationReport(scores)


def cross_validate_pooled(
    rows: Iterable[LabelledRow], folds: int = 5, seed: int = 0, spec: ModelSpec | None = None
) -> EvaluationReport:
    """:func:`cross_validate_per_repo` with the same folds, except that each repository's model
    also learns from every other repository's rows (never from the repository's own test
    fold): one model for all of a deployment's tickets, as ``opsassist triage train`` makes
    it, scored per repository."""
    by_repo = _by_repo(rows)
    scores = {}
    for repo, examples in by_repo.items():
        others = [e for other, rest in by_repo.items() if other != repo for e in rest]
        labels = np.asarray([e.label for e in examples])
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        truth: list[str] = []
        predicted: list[str] = []
        fold_scores = []
        for train_idx, test_idx in splitter.split(np.zeros(len(examples)), labels):
            train = [examples[i] for i in train_idx] + others
            fold_pred = _predict(train, [examples[i] for i in test_idx], spec)
            fold_truth = [examples[i].label for i in test_idx]
            fold_scores.append(float(f1_score(fold_truth, fold_pred, average="macro")))
            truth += fold_truth
            predicted += fold_pred
        n_train = len(examples) * (folds - 1) // folds + len(others)
        scores[repo] = _score(repo, truth, predicted, n_train, tuple(fold_scores))
    return EvaluationReport(scores)
