"""The learned layer: TF-IDF text features and a multinomial logistic regression.

A trained model is plain arrays (vocabularies, IDF weights, coefficients) and is serialized to
bytes as a NumPy ``.npz`` archive loaded with ``allow_pickle=False``: bytes read back from a
database can never execute code, and the format does not depend on scikit-learn's pickles.
Prediction always runs from those arrays, so a model predicts the same before and after a
round trip through bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from numpy.typing import NDArray
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize

from opsassist.streams.triage._ticket import Ticket, WeightedTerm
from opsassist.streams.triage.errors import InvalidModel, NotEnoughTrainingData

FORMAT_VERSION = 1
_TERM_SEPARATOR = "\x00"  # never produced by the analyzers (they collapse whitespace)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How a model is trained. The regularization strength is chosen per training set, by
    cross-validation on the training examples only, from ``c_grid``."""

    word_ngrams: tuple[int, int] = (1, 2)
    # Character n-grams are off: measured on NLBSE'24 5-fold CV they moved mean macro-F1 by
    # +0.001 and made training 13x slower (docs/triage.md).
    char_ngrams: tuple[int, int] | None = None
    # The title again, as a block of its own, so that its words are not drowned by a long body.
    title_block: bool = False
    # Terms seen in one ticket only cannot generalize; dropping them makes training ~5x faster.
    min_df: int = 2
    max_features_per_block: int = 200_000
    c_grid: tuple[float, ...] = (1.0, 4.0, 16.0, 64.0)
    inner_folds: int = 3
    # Long bodies (logs, stack traces) cost time and rarely change the class after this point.
    max_chars: int = 4000
    seed: int = 0


@dataclass(frozen=True, slots=True)
class TrainingExample:
    """A ticket and the label a human (or a resolved ticket's history) gave it."""

    ticket: Ticket
    label: str


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    confidence: float
    terms: tuple[WeightedTerm, ...]


def model_text(ticket: Ticket, max_chars: int) -> str:
    """The text the model reads: title, body (cut), and the routing facts as marker tokens."""
    markers = [f"label_{label}" for label in ticket.labels]
    if ticket.source:
        markers.append(f"source_{ticket.source}")
    if ticket.reporter_group:
        markers.append(f"group_{ticket.reporter_group}")
    marker_text = " ".join(m.replace(" ", "_") for m in markers)
    return f"{ticket.title}\n{ticket.body[:max_chars]}\n{marker_text}"


@dataclass(frozen=True, slots=True)
class _Block:
    """One feature block: an analyzer over a fixed vocabulary with its IDF weights."""

    analyzer: str
    ngram_range: tuple[int, int]
    #: "ticket" (title, body and markers) or "title" (the title alone, a block of its own)
    field: str
    terms: tuple[str, ...]
    idf: NDArray[np.float32]

    def vectorizer(self) -> CountVectorizer:
        vectorizer = CountVectorizer(
            analyzer=self.analyzer,
            ngram_range=self.ngram_range,
            vocabulary={term: i for i, term in enumerate(self.terms)},
            dtype=np.float32,
        )
        # The first transform validates the vocabulary and sets attributes; do it now, so that
        # the model is never mutated after construction (threads, hot swap mid-traffic).
        vectorizer.transform([""])
        return vectorizer


class TriageModel:
    """A trained text classifier; immutable, safe to share between threads."""

    def __init__(
        self,
        blocks: Sequence[_Block],
        coef: NDArray[np.float32],
        intercept: NDArray[np.float32],
        classes: Sequence[str],
        meta: dict[str, Any],
    ) -> None:
        self._blocks = tuple(blocks)
        self._vectorizers = tuple(b.vectorizer() for b in self._blocks)
        self._coef = coef
        self._intercept = intercept
        # Softmax only sees differences between classes; centring makes a term's weight for a
        # class read as "towards this class rather than the others".
        self._centred = coef - coef.mean(axis=0, keepdims=True)
        self.classes: tuple[str, ...] = tuple(classes)
        self.meta = meta
        self.version: str = str(meta["version"])
        self._max_chars = int(meta["spec"]["max_chars"])

    def _features(self, tickets: Sequence[Ticket]) -> list[sp.csr_matrix]:
        texts = {
            "ticket": [model_text(t, self._max_chars) for t in tickets],
            "title": [t.title for t in tickets],
        }
        blocks = []
        for block, vectorizer in zip(self._blocks, self._vectorizers, strict=True):
            counts = sp.csr_matrix(vectorizer.transform(texts[block.field]), dtype=np.float32)
            counts.data = np.log(counts.data) + 1.0  # sublinear tf, as in training
            weighted = counts.multiply(block.idf).tocsr()
            blocks.append(sp.csr_matrix(normalize(weighted)))
        return blocks

    def predict_proba(self, tickets: Sequence[Ticket]) -> NDArray[np.float64]:
        """Class probabilities, one row per ticket, columns in ``classes`` order."""
        features = sp.hstack(self._features(tickets), format="csr")
        return _softmax(np.asarray(features @ self._coef.T, dtype=np.float64) + self._intercept)

    def predict(self, tickets: Sequence[Ticket], top_terms: int = 5) -> list[Prediction]:
        """The best class per ticket, its probability, and the words that weighed most for it."""
        if not tickets:
            return []
        blocks = self._features(tickets)
        features = sp.hstack(blocks, format="csr")
        proba = _softmax(np.asarray(features @ self._coef.T, dtype=np.float64) + self._intercept)
        words = blocks[0]  # the word block is the one a person can read
        word_coef = self._centred[:, : words.shape[1]]
        terms = self._blocks[0].terms
        predictions = []
        for row, best in enumerate(np.argmax(proba, axis=1)):
            start, end = words.indptr[row], words.indptr[row + 1]
            columns = words.indices[start:end]
            weights = words.data[start:end] * word_coef[best, columns]
            order = np.argsort(-weights)[:top_terms]
            predictions.append(
                Prediction(
                    label=self.classes[best],
                    confidence=float(proba[row, best]),
                    terms=tuple(
                        WeightedTerm(terms[columns[i]], float(weights[i]))
                        for i in order
                        if weights[i] > 0
                    ),
                )
            )
        return predictions

    def to_bytes(self) -> bytes:
        """The model as bytes, for a ``bytea`` column or a file; :meth:`from_bytes` reads it."""
        arrays: dict[str, NDArray[Any]] = {
            "meta": np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8),
            "coef": self._coef,
            "intercept": self._intercept,
        }
        for i, block in enumerate(self._blocks):
            joined = _TERM_SEPARATOR.join(block.terms).encode()
            arrays[f"terms_{i}"] = np.frombuffer(joined, dtype=np.uint8)
            arrays[f"idf_{i}"] = block.idf
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TriageModel:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                meta = json.loads(archive["meta"].tobytes().decode())
                if meta.get("format") != FORMAT_VERSION:
                    raise InvalidModel(f"unknown model format {meta.get('format')!r}")
                blocks = []
                for i, spec in enumerate(meta["blocks"]):
                    raw = archive[f"terms_{i}"].tobytes().decode()
                    blocks.append(
                        _Block(
                            analyzer=spec["analyzer"],
                            ngram_range=(spec["ngram_range"][0], spec["ngram_range"][1]),
                            field=spec["field"],
                            terms=tuple(raw.split(_TERM_SEPARATOR)) if raw else (),
                            idf=archive[f"idf_{i}"],
                        )
                    )
                return cls(blocks, archive["coef"], archive["intercept"], meta["classes"], meta)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise InvalidModel(f"cannot read model bytes: {exc}") from None


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    result: NDArray[np.float64] = shifted / shifted.sum(axis=1, keepdims=True)
    return result


def _choose_c(
    features: sp.csr_matrix, labels: list[str], spec: ModelSpec
) -> tuple[float, float | None]:
    """The C of ``spec.c_grid`` with the best macro-F1 in inner cross-validation."""
    smallest = min(Counter(labels).values())
    folds = min(spec.inner_folds, smallest)
    if len(spec.c_grid) == 1 or folds < 2:
        return spec.c_grid[len(spec.c_grid) // 2], None
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=spec.seed)
    target = np.asarray(labels)
    best_c, best_score = spec.c_grid[0], -1.0
    for c in spec.c_grid:
        scores = []
        for train, test in splitter.split(np.zeros(len(labels)), target):
            classifier = LogisticRegression(C=c, max_iter=2000)
            classifier.fit(features[train], target[train])
            predicted = classifier.predict(features[test])
            scores.append(f1_score(target[test], predicted, average="macro"))
        score = float(np.mean(scores))
        if score > best_score:
            best_c, best_score = c, score
    return best_c, best_score


def train_model(examples: Sequence[TrainingExample], spec: ModelSpec | None = None) -> TriageModel:
    """Train a model on labelled examples, wherever they come from (a file, corrections,
    resolved tickets in PostgreSQL). Raises :class:`NotEnoughTrainingData` with fewer than two
    classes."""
    spec = spec or ModelSpec()
    labels = [e.label for e in examples]
    counts = Counter(labels)
    if len(counts) < 2:
        raise NotEnoughTrainingData(f"need at least two classes, got {dict(counts)}")
    texts = {
        "ticket": [model_text(e.ticket, spec.max_chars) for e in examples],
        "title": [e.ticket.title for e in examples],
    }
    # The first block must be the readable word block: explanations come from it.
    configs: list[tuple[str, tuple[int, int], str]] = [("word", spec.word_ngrams, "ticket")]
    if spec.title_block:
        configs.append(("word", spec.word_ngrams, "title"))
    if spec.char_ngrams is not None:
        configs.append(("char_wb", spec.char_ngrams, "ticket"))
    blocks: list[_Block] = []
    matrices = []
    for analyzer, ngram_range, field in configs:
        vectorizer = TfidfVectorizer(
            analyzer=analyzer,
            ngram_range=ngram_range,
            sublinear_tf=True,
            min_df=spec.min_df,
            max_features=spec.max_features_per_block,
            dtype=np.float32,
        )
        try:
            matrices.append(vectorizer.fit_transform(texts[field]))
        except ValueError as exc:  # e.g. no term left after min_df on a tiny training set
            raise NotEnoughTrainingData(f"no usable {field} features: {exc}") from None
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        idf = np.asarray(vectorizer.idf_, dtype=np.float32)
        blocks.append(_Block(analyzer, ngram_range, field, tuple(terms), idf))
    features = sp.hstack(matrices, format="csr")
    best_c, inner_score = _choose_c(features, labels, spec)
    classifier = LogisticRegression(C=best_c, max_iter=2000)
    classifier.fit(features, labels)
    coef = np.asarray(classifier.coef_, dtype=np.float32)
    intercept = np.asarray(classifier.intercept_, dtype=np.float32)
    if coef.shape[0] == 1:  # binary: sklearn keeps one row; softmax over (-s/2, s/2) = sigmoid(s)
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.asarray([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
    classes = [str(c) for c in classifier.classes_]
    digest = hashlib.sha256(coef.tobytes() + "\x00".join(classes).encode())
    for block in blocks:
        digest.update(_TERM_SEPARATOR.join(block.terms).encode())
    trained_at = datetime.now(UTC)
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "version": f"{trained_at:%Y%m%dT%H%M%SZ}-{digest.hexdigest()[:10]}",
        "trained_at": trained_at.isoformat(),
        "classes": classes,
        "class_counts": dict(sorted(counts.items())),
        "examples": len(examples),
        "c": best_c,
        "inner_cv_macro_f1": None if inner_score is None else round(inner_score, 4),
        "spec": asdict(spec),
        "blocks": [
            {"analyzer": b.analyzer, "ngram_range": list(b.ngram_range), "field": b.field}
            for b in blocks
        ],
        "sklearn": sklearn.__version__,
    }
    return TriageModel(blocks, coef, intercept, classes, meta)
