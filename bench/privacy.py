"""Redaction quality and speed against Presidio, and the enrich+redact stage's throughput.

1. presidio-research's synthetic PII set (``pii/presidio_research_synth_v2`` under the
   evaluation data): precision, recall and F2 per type and type-agnostic, for our redactor and,
   in the same run on the same records, Presidio's analyzer (default recognizers, score
   threshold 0.4), beside Presidio's published figures. Spans match at a character IoU
   threshold; records/s is CPU time on one core.
2. The Loghub 2k logs (12 systems, 24,000 lines): enrich (auto-detected shapes, then with each
   system's header format configured) and redact, lines/s on one core (CPU time), best of three,
   each run with a new redactor (so its cache of recent texts starts empty), with the default
   cache and again without it.

    .venv/bin/python -m bench.privacy [--no-presidio]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.pii_scoring import ANY_TYPE, LabelledSpan, Tally
from bench.presidio_reference import GOLD_TO_PRESIDIO, PresidioReference, load_presidio
from bench.report import write_section
from opsassist.memory import tune_garbage_collector
from opsassist.settings import PROJECT_ROOT, Settings
from opsassist.streams.enrich import Enricher
from opsassist.streams.privacy import Redactor
from opsassist.streams.privacy._detection import CACHED_TEXT_LENGTH, DEFAULT_CACHE_ENTRIES

PII_DIR = "pii/presidio_research_synth_v2"
OURS_TO_PRESIDIO = {
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE": "PHONE_NUMBER",
    "IBAN": "IBAN_CODE",
    "USERNAME": "PERSON",
    "ADDRESS": "LOCATION",
}
PATTERN_TYPES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
)
SHARED_TYPES = (*PATTERN_TYPES, "PERSON")
IOUS = (0.9, 0.5)
Predict = Callable[[str], list[LabelledSpan]]


def gold_spans(record: dict[str, Any]) -> list[LabelledSpan]:
    return [
        LabelledSpan(
            GOLD_TO_PRESIDIO.get(span["entity_type"], span["entity_type"]),
            span["start_position"],
            span["end_position"],
        )
        for span in record["spans"]
    ]


def ours(redactor: Redactor) -> Predict:
    def predict(text: str) -> list[LabelledSpan]:
        return [
            LabelledSpan(
                OURS_TO_PRESIDIO.get(span.type.value, span.type.value), span.start, span.end
            )
            for span in redactor.find(text)
        ]

    return predict


def presidio(reference: PresidioReference) -> Predict:
    def predict(text: str) -> list[LabelledSpan]:
        # Presidio reports overlapping results (an e-mail and the URL inside it); its
        # anonymizer keeps one, so do we: the longer.
        found = sorted(reference.find(text), key=lambda r: (r[1] - r[2], r[1]))
        kept: list[LabelledSpan] = []
        for entity, start, end in found:
            if all(end <= other.start or start >= other.end for other in kept):
                kept.append(LabelledSpan(entity, start, end))
        return kept

    return predict


def evaluate(records: list[dict[str, Any]], predict: Predict) -> tuple[dict[str, Tally], float]:
    """Tallies per IoU threshold (plus "<iou>/shared": only the types both systems claim), and
    the CPU seconds predicting took."""
    started = time.process_time()
    predictions = [predict(record["full_text"]) for record in records]
    seconds = time.process_time() - started
    tallies: dict[str, Tally] = {}
    for iou in IOUS:
        every, shared = Tally(), Tally()
        for record, predicted in zip(records, predictions, strict=True):
            gold = gold_spans(record)
            every.add(gold, predicted, iou)
            shared.add(
                [span for span in gold if span.type in SHARED_TYPES],
                [span for span in predicted if span.type in SHARED_TYPES],
                iou,
            )
        tallies[f"{iou}"] = every
        tallies[f"{iou}/shared"] = shared
    return tallies, seconds


def fmt(scores: tuple[float, float, float]) -> str:
    return " | ".join(f"{value:.3f}" for value in scores)


def pii_section(settings: Settings, with_presidio: bool) -> str:
    directory = settings.eval_data / PII_DIR
    if not directory.exists():
        return f"skipped: {directory} is absent (set OPSASSIST_EVAL_DATA)."
    records = json.loads((directory / "synth_dataset_v2.json").read_text())
    published = json.loads((directory / "reference_results.json").read_text())["results"]
    # No span cache: Presidio has none, and the speed compared is the detectors'.
    ours_tally, ours_seconds = evaluate(records, ours(Redactor(cache_entries=0)))
    reference = load_presidio() if with_presidio else "not run (--no-presidio)"
    if isinstance(reference, str):
        ref_tally, ref_seconds, ref_label = None, None, reference
    else:
        ref_tally, ref_seconds = evaluate(records, presidio(reference))
        ref_label = (
            f"presidio-analyzer, default recognizers, threshold 0.4, spaCy: {reference.model}"
        )
    lines = [
        f"{len(records):,} records, {sum(len(r['spans']) for r in records):,} gold spans. "
        f"Reference in the same run: {ref_label}.",
        "",
        "Per type at IoU 0.9 (P | R | F2):",
        "",
        "| type | gold | ours P | R | F2 | Presidio P | R | F2 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    per_type = ours_tally["0.9"]
    for type_ in SHARED_TYPES:
        theirs = fmt(ref_tally["0.9"].scores(type_)) if ref_tally else "— | — | —"
        lines.append(
            f"| {type_} | {per_type.gold[type_]} | {fmt(per_type.scores(type_))} | {theirs} |"
        )
    lines += [
        "",
        "Type-agnostic (any PII type; P | R | F2):",
        "",
        "| gold spans counted | IoU | ours P | R | F2 | Presidio P | R | F2 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scope, suffix in (
        ("all types (published protocol)", ""),
        ("the 7 types both detect", "/shared"),
    ):
        for iou in IOUS:
            key = f"{iou}{suffix}"
            theirs = fmt(ref_tally[key].scores(ANY_TYPE)) if ref_tally else "— | — | —"
            lines.append(
                f"| {scope} | {iou} | {fmt(ours_tally[key].scores(ANY_TYPE))} | {theirs} |"
            )
    for result in published:
        lines.append(
            f"| published: {result['system'].split(',')[0]} | — | — | — | — | "
            f"{result['pii_precision']:.3f} | {result['pii_recall']:.3f} | {result['pii_f2']:.3f} |"
        )
    ours_rate = len(records) / ours_seconds
    lines += ["", f"- ours: **{ours_rate:,.0f} records/s** (CPU time, one core)"]
    if ref_seconds is not None:
        ref_rate = len(records) / ref_seconds
        lines.append(
            f"- Presidio: **{ref_rate:,.0f} records/s**; ours / Presidio: "
            f"**{ours_rate / ref_rate:,.0f} times** (target ≥ 10 times)"
        )
    return "\n".join(lines)


def loghub_payloads(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    systems: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((settings.eval_data / "loghub_2k").glob("*/*_2k.log")):
        text = path.read_text(encoding="utf-8", errors="replace")
        system = path.parent.name
        systems[system] = [{"message": line, "service": system} for line in text.splitlines()]
    return systems


def run_stage(
    enricher: Enricher, redactor: Redactor, systems: dict[str, list[dict[str, Any]]]
) -> tuple[float, float, Counter[str], Counter[str], int]:
    """CPU and wall seconds of enrich+redact over every system (one batch per system), the
    formats recognised, the redactions by type, and the lines with a time from the line."""
    now = datetime.now(UTC)
    formats: Counter[str] = Counter()
    redactions: Counter[str] = Counter()
    timed = 0
    cpu, wall = time.process_time(), time.perf_counter()
    results = []
    for system, payloads in systems.items():
        logs = enricher.enrich_batch(payloads, source=system)
        results.append((logs, redactor.redact_batch([log.as_payload(now) for log in logs])))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    for logs, redacted in results:
        formats.update(log.format for log in logs)
        timed += sum(log.timestamp is not None for log in logs)
        for item in redacted:
            redactions.update(item.record.counts)
    return cpu, wall, formats, redactions, timed


def loghub_section(settings: Settings) -> str:
    systems = loghub_payloads(settings)
    if not systems:
        return "skipped: no Loghub logs under the evaluation data."
    total = sum(len(payloads) for payloads in systems.values())
    drain = json.loads(
        (
            settings.eval_data / "loghub_2k/reference/drain_benchmark_settings_logparser.json"
        ).read_text()
    )
    configured = {
        system: {"format": drain[system]["log_format"]} for system in systems if system in drain
    }
    lines = [
        f"{total:,} lines of {len(systems)} systems; batches of one system (2,000 lines); "
        "best of 3, each run with a new redactor, the garbage collector tuned as in the worker. "
        "The span cache remembers the spans of the "
        f"last {DEFAULT_CACHE_ENTRIES:,} texts (up to {CACHED_TEXT_LENGTH:,} characters) a "
        "redactor scanned, so a repeated line or field value is not scanned again "
        "(`OPSASSIST_PRIVACY_SPAN_CACHE_ENTRIES`, 0 turns it off).",
        "",
        "| configuration | span cache | lines/s (CPU, one core) | lines/s (wall) "
        "| texts answered by the cache | line time parsed | shapes |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    redactions: Counter[str] = Counter()
    for label, sources in (("auto-detected shapes", {}), ("header format per system", configured)):
        for cache_entries in (DEFAULT_CACHE_ENTRIES, 0):
            runs = []
            for _ in range(3):
                redactor = Redactor(pseudonym_key=b"bench-key", cache_entries=cache_entries)
                runs.append(run_stage(Enricher(sources), redactor, systems))
            cpu = min(run[0] for run in runs)
            wall = min(run[1] for run in runs)
            _, _, formats, redactions, timed = runs[0]
            hits, misses = redactor.span_cache
            hit_share = f"{hits / (hits + misses):.0%}" if cache_entries else "-"
            shapes = ", ".join(f"{name} {count:,}" for name, count in formats.most_common())
            cache = "on" if cache_entries else "off"
            rates = f"**{total / cpu:,.0f}** | {total / wall:,.0f}"
            lines.append(
                f"| {label} | {cache} | {rates} | {hit_share} | {timed / total:.0%} | {shapes} |"
            )
    lines += [
        "",
        "Target: ≥ 50,000 lines/s on one core for the whole stage.",
        "Redactions on these lines: "
        + ", ".join(f"{name} {count:,}" for name, count in redactions.most_common())
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-presidio", action="store_true", help="skip the reference")
    args = parser.parse_args()
    settings = Settings()
    pii = pii_section(settings, with_presidio=not args.no_presidio)
    print(pii, end="\n\n")
    # The worker runs the stage with its garbage collector tuned (opsassist.memory); so does
    # this measurement, after Presidio and spaCy are loaded, which freezes them as the worker's
    # start freezes its modules.
    tune_garbage_collector()
    stage = loghub_section(settings)
    print(stage)
    body = (
        "CPU-time rates are the fairer ones when the machine is busy (its load is above).\n\n"
        f"### PII detection: ours vs Presidio\n\n{pii}\n\n### Enrich + redact on Loghub\n\n{stage}"
    )
    write_section(
        Path(PROJECT_ROOT / "docs" / "benchmarks.md"),
        "Privacy: redaction and enrichment",
        body,
        "python -m bench.privacy",
    )


if __name__ == "__main__":
    main()
