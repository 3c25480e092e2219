"""The streaming side of the template benchmark (run by ``python -m bench.templates``): rates
on a long stream against drain3, memory over 1,000,000 lines, and the LRU cap under ever-new
templates."""

from __future__ import annotations

import gc
import random
import re
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psutil

from opsassist.streams.logs import LogLine, LogStage, TemplateMiner

_DIGITS = re.compile(r"\d+")


def memory_run(messages: list[str], lines: int) -> str:
    """Every system's messages, cycled with fresh numbers, into one miner; RSS and the Python
    heap (tracemalloc) sampled every tenth of the run."""
    rng = random.Random(7)
    miner = TemplateMiner("memory", max_templates=5000)
    process = psutil.Process()
    samples: list[tuple[int, float, float, int]] = []
    step = max(lines // 10, 1)
    gc.collect()
    tracemalloc.start()
    started = time.process_time()
    for index in range(lines):
        message = _DIGITS.sub(lambda _: str(rng.randrange(10**6)), messages[index % len(messages)])
        miner.add(message)
        if (index + 1) % step == 0:
            heap, _ = tracemalloc.get_traced_memory()
            samples.append((index + 1, process.memory_info().rss / 2**20, heap / 2**20, len(miner)))
    elapsed = time.process_time() - started
    tracemalloc.stop()
    table = "| lines | RSS MiB | heap MiB (tracemalloc) | templates held |\n|---|---|---|---|\n"
    table += "\n".join(f"| {n:,} | {rss:.1f} | {heap:.2f} | {t:,} |" for n, rss, heap, t in samples)
    return (
        f"{lines:,} lines (the 24,000 Loghub messages cycled, every number replaced by a fresh "
        f"random one) into one miner in {elapsed:.1f} s of CPU (tracemalloc on, so slower than "
        "above):\n\n" + table
    )


def stream_run(
    messages: list[str], lines: int, drain3: dict[str, Callable[[], object] | None]
) -> str:
    """The same stream (every system's messages cycled, fresh numbers) through each miner: the
    rate once templates are learned, as a long-running worker sees it."""
    rng = random.Random(5)
    stream = [
        _DIGITS.sub(lambda _: str(rng.randrange(10**6)), messages[i % len(messages)])
        for i in range(lines)
    ]
    rows = []
    miner = TemplateMiner("stream")
    gc.collect()
    started = time.process_time()
    for message in stream:
        miner.add(message)
    ours = lines / (time.process_time() - started)
    rows.append(f"| ours | {ours:,.0f} | 1.0x | {len(miner):,} templates |")
    for name, factory in drain3.items():
        if factory is None:
            continue
        other = factory()
        gc.collect()
        started = time.process_time()
        for message in stream:
            other.add_log_message(message)  # type: ignore[attr-defined]
        rate = lines / (time.process_time() - started)
        clusters = len(other.drain.clusters)  # type: ignore[attr-defined]
        rows.append(f"| {name} | {rate:,.0f} | {ours / rate:.1f}x | {clusters:,} clusters |")
    stage = LogStage()  # two window sizes, incidents, parameters: what the log agent runs
    start = datetime(2026, 11, 20, tzinfo=UTC)
    batch = [
        LogLine(
            service=f"svc-{i % 12}",
            timestamp=start + timedelta(milliseconds=10 * i),
            level="ERROR" if i % 50 == 0 else "INFO",
            message=message,
        )
        for i, message in enumerate(stream)
    ]
    gc.collect()
    started = time.process_time()
    for offset in range(0, lines, 2000):
        stage.process(batch[offset : offset + 2000])
    staged = lines / (time.process_time() - started)
    rows.append(
        f"| `LogStage` (12 services, mining + parameters + 1 min and 1 h windows + incidents, "
        f"batches of 2,000) | {staged:,.0f} | {ours / staged:.1f}x | |"
    )
    return (
        f"A {lines:,}-line stream (every system's messages cycled, every number replaced by a "
        "fresh random one), CPU time of the mining:\n\n"
        "| miner | lines/s | ours is | held at the end |\n|---|---|---|---|\n" + "\n".join(rows)
    )


def eviction_run(lines: int, cap: int) -> str:
    """A stream in which every line is a template never seen before: the cap must hold."""
    rng = random.Random(11)
    words = [f"{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(676)]
    miner = TemplateMiner("eviction", max_templates=cap)
    gc.collect()
    tracemalloc.start()
    samples: list[tuple[int, float, int]] = []
    step = max(lines // 5, 1)
    for index in range(lines):
        miner.add(" ".join(rng.choice(words) for _ in range(6)) + f" took {index} ms")
        if (index + 1) % step == 0:
            samples.append((index + 1, tracemalloc.get_traced_memory()[0] / 2**20, len(miner)))
    tracemalloc.stop()
    table = "| lines | heap MiB | templates held |\n|---|---|---|\n"
    table += "\n".join(f"| {n:,} | {heap:.2f} | {t:,} |" for n, heap, t in samples)
    return (
        f"{lines:,} lines of six random words each (almost every line a new template), cap "
        f"`max_templates={cap:,}`; {miner.evicted:,} templates evicted:\n\n" + table
    )


def stage_memory_run(messages: list[str], lines: int) -> str:
    """What the log agent holds: the same stream through ``LogStage`` (12 services, miners,
    parameters, 1 min and 1 h windows, baselines, incidents) in batches of 2,000, the results
    dropped as the worker drops them once stored; RSS and heap sampled every tenth."""
    rng = random.Random(13)
    stage = LogStage()
    start = datetime(2026, 11, 20, tzinfo=UTC)
    process = psutil.Process()
    samples: list[tuple[int, float, float, int]] = []
    step = max(lines // 10, 1)
    windows = 0
    gc.collect()
    tracemalloc.start()
    started = time.process_time()
    for offset in range(0, lines, 2000):
        batch = [
            LogLine(
                service=f"svc-{i % 12}",
                timestamp=start + timedelta(milliseconds=10 * i),
                level="ERROR" if i % 50 == 0 else "INFO",
                message=_DIGITS.sub(
                    lambda _: str(rng.randrange(10**6)), messages[i % len(messages)]
                ),
            )
            for i in range(offset, min(offset + 2000, lines))
        ]
        windows += len(stage.process(batch).summaries)
        done = offset + len(batch)
        if done % step == 0 or done == lines:
            heap, _ = tracemalloc.get_traced_memory()
            held = sum(len(stage.miner(f"svc-{s}")) for s in range(12))
            samples.append((done, process.memory_info().rss / 2**20, heap / 2**20, held))
    elapsed = time.process_time() - started
    tracemalloc.stop()
    table = "| lines | RSS MiB | heap MiB (tracemalloc) | templates held (12 miners) |\n"
    table += "|---|---|---|---|\n"
    table += "\n".join(f"| {n:,} | {rss:.1f} | {heap:.2f} | {t:,} |" for n, rss, heap, t in samples)
    return (
        f"The same kind of stream, {lines:,} lines over 12 services (10 ms apart: "
        f"{lines / 100 / 3600:.1f} h of event time), through `LogStage` as the log agent runs it "
        f"(mining, parameters, 1 min and 1 h windows, baselines, incidents; {windows:,} windows "
        f"closed) in {elapsed:.1f} s of CPU (tracemalloc on):\n\n" + table
    )
