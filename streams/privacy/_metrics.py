"""The privacy stage's Prometheus metrics. The label is a PII type name (a short, fixed set),
never a value."""

from __future__ import annotations

from prometheus_client import Counter

PII_REDACTIONS = Counter(
    "opsassist_pii_redactions_total",
    "Values redacted from events before they were stored or sent anywhere, by type.",
    ["type"],
)
