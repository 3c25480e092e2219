"""Metrics of the store's operations, in whichever process runs them (the API for corrections
made by people, the CLI, tests)."""

from __future__ import annotations

from prometheus_client import Counter

TRIAGE_OVERRIDE_FIELDS = ("category", "priority", "team")

TRIAGE_OVERRIDES = Counter(
    "opsassist_triage_overrides_total",
    "Triage decisions a person corrected, per field (category, priority, team).",
    ["field"],
)
for _field in TRIAGE_OVERRIDE_FIELDS:  # every series exists at zero, for rates and alerts
    TRIAGE_OVERRIDES.labels(_field)
