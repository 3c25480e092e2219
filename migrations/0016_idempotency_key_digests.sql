-- phase: migrate
-- Idempotency keys are stored as their HMAC from this release on (docs/privacy.md, "Idempotency
-- keys"), never as the sender gave them: callers choose keys, and some choose an e-mail address
-- or an order number. The HMAC needs the application's secret, which SQL does not have, so the
-- rows that still hold a key in clear are forgotten now instead of at the end of their retention
-- (webhook_idempotency_ttl_hours). The cost: a retry of a request made before the upgrade, within
-- that retention, runs again instead of replaying its answer; the log lines it produces keep
-- their event ids (derived from the key, docs/webhooks.md), so the worker stores them once, and a
-- repeated status change meets the ticket's new version and gets a conflict. The status-change
-- rows also held the ticket state they answered with, whose correction reasons were stored
-- unredacted before this release.
DELETE FROM idempotency_keys WHERE idempotency_key !~ '^[0-9a-f]{64}$';
DELETE FROM ticket_status_requests WHERE idempotency_key !~ '^[0-9a-f]{64}$';
