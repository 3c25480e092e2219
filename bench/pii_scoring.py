"""Span-level scoring of PII detection against a gold set, as presidio-research's SpanEvaluator
does it: a predicted span matches a gold span when their intersection over union reaches a
threshold; precision, recall and F-beta (beta = 2: a missed value costs more than a masked
word) per type and type-agnostic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ANY_TYPE = "PII (any type)"


@dataclass(frozen=True, slots=True)
class LabelledSpan:
    type: str
    start: int
    end: int


@dataclass(slots=True)
class Tally:
    true_positives: Counter[str] = field(default_factory=Counter)
    gold: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)

    def add(
        self,
        gold: Sequence[LabelledSpan],
        predicted: Sequence[LabelledSpan],
        iou: float,
        agnostic_gold: Sequence[LabelledSpan] | None = None,
    ) -> None:
        """One record. Per type, spans of that type only; type-agnostic, any overlap counts.
        ``agnostic_gold`` restricts the type-agnostic gold set (default: all of ``gold``)."""
        for span in gold:
            self.gold[span.type] += 1
        for span in predicted:
            self.predicted[span.type] += 1
        for type_ in {span.type for span in gold} | {span.type for span in predicted}:
            self.true_positives[type_] += _matches(
                [s for s in gold if s.type == type_], [s for s in predicted if s.type == type_], iou
            )
        any_gold = list(gold if agnostic_gold is None else agnostic_gold)
        self.gold[ANY_TYPE] += len(any_gold)
        self.predicted[ANY_TYPE] += len(predicted)
        self.true_positives[ANY_TYPE] += _matches(any_gold, predicted, iou)

    def scores(self, type_: str, beta: float = 2.0) -> tuple[float, float, float]:
        """(precision, recall, F-beta); an empty denominator scores 0."""
        tp = self.true_positives[type_]
        precision = tp / self.predicted[type_] if self.predicted[type_] else 0.0
        recall = tp / self.gold[type_] if self.gold[type_] else 0.0
        if precision + recall == 0:
            return precision, recall, 0.0
        f = (1 + beta**2) * precision * recall / (beta**2 * precision + recall)
        return precision, recall, f


def _iou(a: LabelledSpan, b: LabelledSpan) -> float:
    overlap = min(a.end, b.end) - max(a.start, b.start)
    if overlap <= 0:
        return 0.0
    return overlap / (max(a.end, b.end) - min(a.start, b.start))


def _matches(gold: Iterable[LabelledSpan], predicted: Sequence[LabelledSpan], iou: float) -> int:
    """One-to-one matches, best overlap first."""
    pairs = sorted(
        ((_iou(g, p), gi, pi) for gi, g in enumerate(gold) for pi, p in enumerate(predicted)),
        reverse=True,
    )
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    for score, gi, pi in pairs:
        if score < iou:
            break
        if gi not in used_gold and pi not in used_pred:
            used_gold.add(gi)
            used_pred.add(pi)
    return len(used_gold)
