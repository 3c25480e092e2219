"""The LLM layer's Prometheus metrics, declared once. Labels are bounded: ``task`` is one of the
configured tasks, ``model`` a configured ``provider/model``, ``kind``/``reason`` fixed words."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
