"""The LLM layer's Prometheus metrics, declared once. Labels are bounded: ``task`` is one of the
configured tasks, ``model`` a configured ``provider/model``, ``kind``/``reason`` fixed words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "opsassist_llm_requests_total",
    "HTTP requests sent to an LLM provider, by outcome (ok, rate_limited, unavailable, "
    "timeout, rejected, error).",
    ["task", "model", "outcome"],
)
LATENCY = Histogram(
    "opsassist_llm_request_duration_seconds",
    "Time from sending a request to an LLM until its answer (successful requests).",
    ["task", "model"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
TOKENS = Counter(
    "opsassist_llm_tokens_total",
    "Tokens used, as the provider reported them (direction: prompt or completion).",
    ["task", "model", "direction"],
)
COST = Counter(
    "opsassist_llm_cost_usd_total",
    "Cost in US dollars at the configured prices.",
    ["task", "model"],
)
ERRORS = Counter(
    "opsassist_llm_errors_total",
    "Failures, by kind: rate_limited, unavailable, timeout, rejected, error, malformed, "
    "personal_data, budget_exhausted, circuit_open, cache.",
    ["task", "model", "kind"],
)
FALLBACKS = Counter(
    "opsassist_llm_fallbacks_total",
    "Times a model gave up and the next model of the task was tried (model: the one given up).",
    ["task", "model"],
)
CACHE_HITS = Counter(
    "opsassist_llm_cache_hits_total", "Answers served from the cache.", ["task", "model"]
)
CACHE_MISSES = Counter(
    "opsassist_llm_cache_misses_total", "Cache lookups that found nothing.", ["task"]
)
RESULTS = Counter(
    "opsassist_llm_results_total",
    "Results handed back, by who produced them (llm or deterministic) and why.",
    ["task", "produced_by", "reason"],
)
BUDGET = Gauge(
    "opsassist_llm_budget_usd_per_hour",
    "LLM cost budgets per sliding hour that the process enforces: scope=process for all tasks "
    "together (OPSASSIST_LLM_MAX_COST_PER_HOUR_USD), scope=task for a task's own "
    "max_cost_per_hour_usd. Only in a process that built an LLM client.",
    ["scope", "task"],
)

#: The deterministic results an alert watches for: they must exist at zero before they move.
_WATCHED_REASONS = ("budget_exhausted",)


def export_budgets(process_usd: float, task_usd: Mapping[str, float | None]) -> None:
    """Publish the hourly cost budgets the process enforces, so that alerts compare the spending
    with them (one client per process: a later client replaces the figures). A task without a
    budget of its own has no series."""
    BUDGET.clear()
    BUDGET.labels("process", "").set(process_usd)
    for task, usd in task_usd.items():
        if usd is not None:
            BUDGET.labels("task", task).set(usd)


def initialize(task_models: Mapping[str, Iterable[str]], *, cache: bool) -> None:
    """Create at zero the series that alerts and dashboard ratios read, for every task and the
    models it may reach: ``increase()`` misses the first step of a counter whose series appears
    with a value already above zero, and a hit ratio needs its hits before the first one
    (Prometheus' advice for labelled metrics)."""
    for task, models in task_models.items():
        for reason in _WATCHED_REASONS:
            RESULTS.labels(task, "deterministic", reason)
        if cache:
            CACHE_MISSES.labels(task)
        for model in models:
            COST.labels(task, model)
            ERRORS.labels(task, model, "budget_exhausted")
            if cache:
                CACHE_HITS.labels(task, model)
