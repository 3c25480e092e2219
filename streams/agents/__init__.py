"""The worker's per-kind work around the pure stages: the ingest stage every raw-topic agent runs
(decode, sanitize, write, dead-letter), and what follows a durable write for each kind (``logs``,
``tickets``, ``changelog``); ``replay`` re-runs a kind's processing outside Faust."""
