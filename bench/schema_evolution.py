"""What schema evolution costs the worker's decoding: ticket events at the newest version (v2,
the fast path) against v1 events that the general path upcasts, with log events (v1, newest,
fast path, untouched by the change) as the reference, in one run.

    .venv/bin/python -m bench.schema_evolution [--events N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from bench.report import write_section
from opsassist.settings import PROJECT_ROOT
from schemas import decode_event
from schemas.registry import Headers

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "events"


def variants(name: str, n: int) -> list[bytes]:
    """``n`` distinct events shaped like the fixture ``name``."""
    base = orjson.loads((FIXTURES / name).read_bytes())
    out = []
    for i in range(n):
        event = {**base, "id": f"{base['id']}-{i}", "payload": dict(base["payload"])}
        if "title" in event["payload"]:
            event["payload"]["title"] = f"{event['payload']['title']} #{i}"
        else:
            event["payload"]["message"] = f"{event['payload']['message']} #{i}"
        out.append(orjson.dumps(event))
    return out


def per_event_us(
    decode: Callable[[bytes, Headers], object], events: list[bytes], headers: Headers, repeats: int
) -> float:
    """Median over ``repeats`` runs of the time per event, in microseconds."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for raw in events:
            decode(raw, headers)
        runs.append((time.perf_counter() - started) / len(events) * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()

    cases = [
        ("log v1 (newest; reference)", "log.v1.json", "log"),
        ("ticket v2 (newest)", "ticket.v2.json", "ticket"),
        ("ticket v1 (upcast to v2)", "ticket.v1.json", "ticket"),
    ]
    rows = []
    for label, fixture, kind in cases:
        events = variants(fixture, args.events)
        version = orjson.loads(events[0])["schema_version"]
        # as the worker gets them: with the schema-version header producers set, and without
        for with_header in (True, False):
            headers: Headers = [("schema-version", str(version).encode())] if with_header else []

            def decode(raw: bytes, headers: Headers, kind: str = kind) -> object:
                return decode_event(raw, kind, headers)  # type: ignore[arg-type]

            us = per_event_us(decode, events, headers, args.repeats)
            name = f"{label}, {'with' if with_header else 'without'} header"
            rows.append((name, us))
            print(f"{name:48} {us:6.2f} µs/event  {1e6 / us:>10,.0f} events/s")
    reference = rows[2][1]
    table = [
        "| events | µs per event | events/s | time vs ticket v2 with header |",
        "|---|---:|---:|---:|",
    ]
    for label, us in rows:
        table.append(f"| {label} | {us:.2f} | {1e6 / us:,.0f} | {us / reference:.2f} |")
    body = (
        f"Decoding {args.events:,} distinct events per case with `decode_event(raw, kind)` as the "
        f"worker does (median of {args.repeats} runs, one core). v2 ticket events take the fast "
        "path (pydantic-core validates the bytes directly); v1 ticket events take the general "
        "path: JSON parse, the upcaster's rename, validation as v2; with a `schema-version` header "
        "naming v1 (producers set it) they skip the fast path, without one they try it first "
        "([schema-evolution.md](schema-evolution.md#event-schema-v2-and-its-upcaster)).\n\n"
        + "\n".join(table)
    )
    write_section(
        args.out,
        "Schema evolution: decoding upcast events",
        body,
        "python -m bench.schema_evolution",
    )


if __name__ == "__main__":
    main()
