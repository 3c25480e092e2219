"""Accuracy of a log parser against ground-truth templates, as log-parsing benchmarks define it
(Zhu et al., ICSE-SEIP 2019; Jiang et al., ISSTA 2024)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence


def grouping_accuracy(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """GA: the share of lines whose predicted group holds exactly the lines of their true group."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predicted")
    if not truth:
        return 0.0
    true_groups: dict[Hashable, set[int]] = defaultdict(set)
    predicted_groups: dict[Hashable, set[int]] = defaultdict(set)
    for index, (true_label, predicted_label) in enumerate(zip(truth, predicted, strict=True)):
        true_groups[true_label].add(index)
        predicted_groups[predicted_label].add(index)
    correct = 0
    for lines in predicted_groups.values():
        labels = {truth[index] for index in lines}
        if len(labels) == 1 and true_groups[labels.pop()] == lines:
            correct += len(lines)
    return correct / len(truth)


def parsing_accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """PA: the share of lines whose predicted template text equals the true one, ignoring only
    runs of whitespace."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true templates but {len(predicted)} predicted")
    if not truth:
        return 0.0
    same = sum(
        " ".join(expected.split()) == " ".join(got.split())
        for expected, got in zip(truth, predicted, strict=True)
    )
    return same / len(truth)
