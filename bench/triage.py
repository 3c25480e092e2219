"""Ticket triage on NLBSE'24 issue reports, beside the published baselines, plus speed.

Only the train split (1,500 issues, 5 repos x 3 classes x 100) is shipped in
``../shared/data/tickets/nlbse24_issue_report_classification/``, so quality is measured by
stratified 5-fold cross-validation per repository (shuffled, seed 0): each repository's model
trains on 240 issues and is tested on the other 60, five times; a repository's macro-F1 is
the mean over its folds and the headline is the mean over repositories. The baselines were
trained on 300 issues per repository and tested on the unpublished test split, so they are a
reference, not the same test set. The learned layer runs alone with its defaults (no rules,
no LLM), and nothing is tuned on this data: the regularization is chosen inside each training
fold by the same inner cross-validation a user's `opsassist triage train` runs.

    python -m bench.triage            # writes its section into docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from bench.report import write_section
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.streams.triage import (
    EvaluationReport,
    TrainingExample,
    Triager,
    cross_validate_per_repo,
    cross_validate_pooled,
    load_config,
    read_labelled_csv,
    train_model,
)

DATASET = "tickets/nlbse24_issue_report_classification"
BASELINES = (
    ("fastText", "fasttext", "output/fasttext/results.json"),
    ("RoBERTa", "roberta", "output/roberta/results.json"),
    ("SetFit", "setfit", "output/setfit/results.json"),
)


def read_baselines(path: Path) -> dict[tuple[str, str], float]:
    """(model name, repo or 'overall') -> published macro-F1, from baselines/summary.csv."""
    figures = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            for name, model, source in BASELINES:
                if (row["model"], row["source"], row["label"]) == (model, source, "average"):
                    figures[(name, row["repo"])] = float(row["f1"])
    return figures


def quality_table(report: EvaluationReport, baselines: dict[tuple[str, str], float]) -> str:
    names = [name for name, _, _ in BASELINES]
    lines = [
        "| repo | opsassist (5-fold CV) | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for repo, score in report.per_repo.items():
        spread = statistics.pstdev(score.fold_macro_f1)
        ours = f"{score.macro_f1:.4f} ± {spread:.3f}"
        theirs = " | ".join(f"{baselines.get((n, repo), float('nan')):.4f}" for n in names)
        lines.append(f"| {repo} | {ours} | {theirs} |")
    overall = " | ".join(f"**{baselines.get((n, 'overall'), float('nan')):.4f}**" for n in names)
    lines.append(f"| **mean** | **{report.mean_macro_f1:.4f}** | {overall} |")
    return "\n".join(lines)


def pooled_lines(report: EvaluationReport, pooled: EvaluationReport | None) -> str:
    """The same folds, each repository's model also trained on the other repositories."""
    if pooled is None:
        return ""
    lines = [
        "",
        "Pooled (same folds and defaults; each repository's model also learns from the other",
        "four repositories' 1,200 issues, never from its own test fold — one model for all of",
        "a deployment's tickets, as `opsassist triage train` makes it; not the per-repository",
        "protocol of the baselines):",
        "",
        "| repo | per repository | pooled |",
        "|---|---:|---:|",
    ]
    for repo, score in report.per_repo.items():
        other = pooled.per_repo[repo]
        spread = statistics.pstdev(other.fold_macro_f1)
        lines.append(f"| {repo} | {score.macro_f1:.4f} | {other.macro_f1:.4f} ± {spread:.3f} |")
    lines.append(f"| **mean** | **{report.mean_macro_f1:.4f}** | **{pooled.mean_macro_f1:.4f}** |")
    return "\n".join(lines)


def confusion_lines(report: EvaluationReport) -> str:
    lines = []
    for repo, score in report.per_repo.items():
        rows = "; ".join(
            f"{label}: " + " ".join(str(v) for v in row)
            for label, row in zip(score.labels, score.confusion, strict=True)
        )
        lines.append(f"  - {repo} (rows true, columns predicted {'/'.join(score.labels)}): {rows}")
    return "\n".join(lines)


def speed(examples: list[TrainingExample], train_size: int) -> dict[str, float]:
    """Classification latency one ticket at a time and in a batch, and training time on
    ``train_size`` examples (the data set repeated), all on one core."""
    config = load_config()
    figures: dict[str, float] = {}
    with threadpool_limits(limits=1):
        repeated = [examples[i % len(examples)] for i in range(train_size)]
        started = time.perf_counter()
        big = train_model(repeated)
        figures["train_seconds"] = time.perf_counter() - started
        figures["train_c"] = float(big.meta["c"])
        model = train_model(examples)
        triager = Triager(config, model)
        tickets = [e.ticket for e in examples]
        triager.triage_batch(tickets[:20])  # warm-up
        latencies = []
        for ticket in tickets:
            started = time.perf_counter()
            triager.triage(ticket)
            latencies.append((time.perf_counter() - started) * 1000)
        latencies.sort()
        figures["single_median_ms"] = statistics.median(latencies)
        figures["single_p99_ms"] = latencies[int(len(latencies) * 0.99) - 1]
        started = time.perf_counter()
        triager.triage_batch(tickets)
        figures["batch_ms_per_ticket"] = (time.perf_counter() - started) * 1000 / len(tickets)
        figures["model_bytes"] = float(len(model.to_bytes()))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--no-pooled", action="store_true", help="skip the pooled cross-validation (minutes)"
    )
    args = parser.parse_args()

    root = Settings().eval_data / DATASET
    if not (root / "issues_train.csv").exists():
        sys.exit(f"skipped: {root}/issues_train.csv not found (set OPSASSIST_EVAL_DATA)")
    rows = read_labelled_csv(root / "issues_train.csv")
    baselines = read_baselines(root / "baselines" / "summary.csv")

    started = time.perf_counter()
    report = cross_validate_per_repo(rows, folds=args.folds, seed=0)
    cv_seconds = time.perf_counter() - started
    pooled = None if args.no_pooled else cross_validate_pooled(rows, folds=args.folds, seed=0)
    config = load_config()
    examples = [
        TrainingExample(r.example.ticket, config.normalize_label(r.example.label) or "")
        for r in rows
    ]
    fast = speed(examples, args.train_size)

    per_fold = len(rows) // len(report.per_repo) * (args.folds - 1) // args.folds
    body = f"""
NLBSE'24 issue reports (`../shared/data/{DATASET}`), {len(rows)} issues. Stratified
{args.folds}-fold cross-validation per repository (seed 0): one model per repository trained
on {per_fold} issues per fold; the learned layer alone with its defaults (word 1-2-gram
TF-IDF, logistic regression, C chosen by inner 3-fold CV on each training fold), no rules, no
LLM. ± is the standard deviation over folds. Baselines: published macro-F1 on the official
test split, trained on 300 issues per repository (`baselines/summary.csv`).

{quality_table(report, baselines)}

- target: mean macro-F1 ≥ 0.80 without an LLM: **{report.mean_macro_f1:.4f}**
- cross-validation took {cv_seconds:.0f} s for {len(report.per_repo)} repos x {args.folds} folds
- confusion matrices, summed over folds:
{confusion_lines(report)}
{pooled_lines(report, pooled)}

Speed, one core (BLAS threads limited to 1), default configuration and rules, a model trained
on all {len(examples)} issues (labels mapped onto the default taxonomy):

| measure | value | target |
|---|---:|---:|
| classify one ticket at a time, median | {fast["single_median_ms"]:.2f} ms | < 2 ms |
| classify one ticket at a time, p99 | {fast["single_p99_ms"]:.2f} ms | |
| classify a batch of {len(examples)}, per ticket | {fast["batch_ms_per_ticket"]:.2f} ms | |
| train on {args.train_size:,} tickets (the 1,500 repeated), incl. inner CV | \
{fast["train_seconds"]:.1f} s | < 60 s |
| serialized model size | {fast["model_bytes"] / 1024:.0f} KiB | |

The 10,000-ticket training set repeats the 1,500 issues, so its vocabulary is that of 1,500
issues; a real set of 10,000 distinct tickets has a larger vocabulary and trains slower.
"""
    print(body)
    if not args.no_write:
        write_section(
            PROJECT_ROOT / "docs" / "benchmarks.md",
            "Ticket triage: NLBSE'24 macro-F1 and speed",
            body,
            "python -m bench.triage",
        )


if __name__ == "__main__":
    main()
