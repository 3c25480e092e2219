"""The LLM layer, measured.

1. Its overhead: runs through :class:`llm.LLMClient` against bare ``AsyncOpenAI`` calls, both
   to the same local OpenAI-compatible server in another process, and runs answered from the
   cache.
2. The built-in personal-data guard: how much of the personal data it is meant to catch it
   catches (Presidio-research synthetic sentences), how often it refuses ordinary log text
   (Loghub raw lines and their mined templates), and how fast it is.

Run: ``python -m bench.llm``. Part 2 needs ``../shared/data`` (OPSASSIST_EVAL_DATA).
"""

from __future__ import annotations

import asyncio
import csv
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.report import write_section
from opsassist.infra.processes import free_port, port_open
from opsassist.llm import InMemoryAnswerCache, LLMClient, LLMConfig, Provider
from opsassist.llm.config import ProviderEndpoint
from opsassist.llm.guard import find_personal_data
from opsassist.llm.templates import PromptLibrary
from opsassist.settings import PROJECT_ROOT, Settings

# The Presidio entity types the built-in guard is meant for, and the kind it reports.
COVERED = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "IP_ADDRESS": "ip_address",
    "CREDIT_CARD": "card_number",
}


def _presidio(data: Path) -> tuple[list[str], float, float]:
    records = json.loads(
        (data / "pii/presidio_research_synth_v2/synth_dataset_v2.json").read_text()
    )
    spans: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    with_covered = refused_with = without_any = refused_without = 0
    for record in records:
        found = set(find_personal_data(record["full_text"]))
        kinds = {s["entity_type"] for s in record["spans"]}
        for span in record["spans"]:
            kind = COVERED.get(span["entity_type"])
            if kind is None:
                continue
            spans[span["entity_type"]] += 1
            caught[span["entity_type"]] += kind in find_personal_data(span["entity_value"])
        if kinds & COVERED.keys():
            with_covered += 1
            refused_with += bool(found)
        if not kinds:
            without_any += 1
            refused_without += bool(found)
    rows = [
        f"| {entity} | {spans[entity]} | {caught[entity]} | {caught[entity] / spans[entity]:.3f} |"
        for entity in COVERED
        if spans[entity]
    ]
    return rows, refused_with / with_covered, refused_without / max(without_any, 1)


def _loghub(data: Path) -> tuple[list[str], int, float]:
    rows = []
    lines_total = 0
    seconds = 0.0
    systems = (data / "loghub_2k").iterdir()
    for system in sorted(p for p in systems if (p / f"{p.name}_2k.log").exists()):
        raw = (system / f"{system.name}_2k.log").read_text(errors="replace").splitlines()
        raw = [line.rstrip("\r") for line in raw]
        started = time.perf_counter()
        flagged = [find_personal_data(line) for line in raw]
        seconds += time.perf_counter() - started
        lines_total += len(raw)
        with (system / f"{system.name}_2k.log_templates.csv").open(newline="") as handle:
            templates = [row["EventTemplate"] for row in csv.DictReader(handle)]
        kinds = Counter(kind for found in flagged for kind in found)
        refused_templates = sum(bool(find_personal_data(t)) for t in templates)
        top = ", ".join(f"{k} {n}" for k, n in kinds.most_common(3)) or "-"
        rows.append(
            f"| {system.name} | {sum(map(bool, flagged)) / len(raw):.1%} | {top} | "
            f"{refused_templates}/{len(templates)} |"
        )
    return rows, lines_total, lines_total / seconds


RUNS = 400
TICKET = {
    "title": "Checkout times out",
    "body": "Since noon the checkout page returns 504.",
    "categories": ["bug", "outage"],
    "priorities": ["low", "urgent"],
}
ANSWER = {"category": "outage", "priority": "urgent", "reason": "checkout down"}


def serve(port: int) -> None:
    """A constant OpenAI-compatible answer, for the overhead figures (``--serve PORT``)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        message = {"role": "assistant", "content": json.dumps(ANSWER)}
        return JSONResponse(
            {
                "id": "b",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320},
            }
        )

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


async def _timed(call: object, runs: int) -> list[float]:
    import typing

    run = typing.cast("typing.Callable[[], typing.Awaitable[object]]", call)
    await run()  # connection set up, caches warm
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        seconds.append(time.perf_counter() - started)
    return seconds


async def _overhead(base_url: str) -> list[str]:
    from openai import AsyncOpenAI
    from pydantic import BaseModel

    class Triage(BaseModel):
        category: str
        priority: str
        reason: str

    bare = AsyncOpenAI(api_key="k", base_url=base_url, max_retries=0)
    config = LLMConfig.model_validate(
        {
            "providers": {"bench": {"base_url": base_url}},
            "tasks": {"triage": {"models": [{"name": "m", "provider": "bench"}]}},
        }
    )
    endpoint = ProviderEndpoint(name="bench", base_url=base_url, api_key="k")
    layer = LLMClient(config, {"bench": Provider(endpoint)}, max_cost_per_hour_usd=1e9)
    cached = LLMClient(
        config,
        {"bench": Provider(endpoint)},
        cache=InMemoryAnswerCache(),
        max_cost_per_hour_usd=1e9,
    )
    rules = Triage(category="bug", priority="low", reason="rules")
    # The bare call sends exactly what the layer sends, so that only the layer's work differs.
    messages = PromptLibrary.from_directory().get("triage.classify").render(TICKET)

    async def bare_call() -> object:
        return await bare.chat.completions.create(
            model="m",
            messages=messages,
            max_tokens=800,  # type: ignore[arg-type]
            response_format={"type": "json_object"},
        )

    async def layer_call() -> object:
        result = await layer.run("triage", TICKET, Triage, deterministic=rules)
        assert result.produced_by == "llm", result.detail
        return result

    async def cached_call() -> object:
        return await cached.run("triage", TICKET, Triage, deterministic=rules)

    rows = []
    for name, call in (
        ("bare `AsyncOpenAI` call (reference)", bare_call),
        ("`LLMClient.run`, one-prompt task", layer_call),
        ("`LLMClient.run`, answer from the cache", cached_call),
    ):
        seconds = await _timed(call, RUNS)
        rows.append(
            f"| {name} | {RUNS / sum(seconds):,.0f} | {statistics.median(seconds) * 1000:.2f} |"
        )
    for client in (layer, cached):
        await client.aclose()
    await bare.close()
    return rows


def _overhead_section() -> str:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.llm", "--serve", str(port)])
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("the local OpenAI-compatible server did not start")
            time.sleep(0.05)
        rows = asyncio.run(_overhead(f"http://127.0.0.1:{port}/v1"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return "\n".join(
        [
            f"{RUNS} sequential runs each, against a constant answer from a local "
            "OpenAI-compatible "
            "server (uvicorn, another process). The layer adds rendering, the guard, budget and "
            "breaker bookkeeping, parsing and metrics to the same HTTP request.",
            "",
            "| path | runs/s | median ms |",
            "|---|---:|---:|",
            *rows,
        ]
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        return
    overhead = _overhead_section()
    print(overhead)
    write_section(
        PROJECT_ROOT / "docs" / "benchmarks.md",
        "LLM layer overhead",
        overhead,
        "python -m bench.llm",
    )
    data = Settings().eval_data
    if not (data / "pii").is_dir() or not (data / "loghub_2k").is_dir():
        sys.exit(f"the guard figures need the evaluation data in {data} (OPSASSIST_EVAL_DATA)")
    presidio_rows, record_recall, clean_refusals = _presidio(data)
    loghub_rows, lines, per_second = _loghub(data)
    body = "\n".join(
        [
            "The guard refuses to send text in which it finds personal data. Recall per entity "
            "type it covers, each span's value checked alone (Presidio-research synthetic v2):",
            "",
            "| entity type | spans | caught | recall |",
            "|---|---:|---:|---:|",
            *presidio_rows,
            "",
            f"Sentences holding at least one covered type that are refused: {record_recall:.1%}. "
            f"Sentences with no personal data at all that are refused: {clean_refusals:.1%}.",
            "Reference (not the same measure: all 17 entity types, span overlap, type-agnostic): "
            "Presidio's published recall on this data set is 0.603 with its defaults and 0.839 "
            "with a transformer model. The guard is a last check for four pattern types, not "
            "the redaction engine.",
            "",
            "How often it refuses raw log lines (before any redaction) and the ground-truth "
            "templates of the same logs (variables already replaced by `<*>`):",
            "",
            "| Loghub system | raw lines refused | kinds found (lines) | templates refused |",
            "|---|---:|---|---:|",
            *loghub_rows,
            "",
            f"Speed: {per_second:,.0f} lines/s over {lines:,} raw lines, one core.",
        ]
    )
    print(body)
    write_section(
        PROJECT_ROOT / "docs" / "benchmarks.md",
        "LLM personal-data guard",
        body,
        "python -m bench.llm",
    )


if __name__ == "__main__":
    main()
