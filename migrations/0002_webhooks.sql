-- phase: expand
-- Webhook ingestion (issue 3): the API keys senders authenticate with, and the idempotency keys
-- that make a repeated delivery get its original answer instead of producing again.

-- Only a SHA-256 of the key's secret part is stored: the keys are 256-bit random values, so a
-- fast hash is as safe as a slow one and keeps the check per request cheap.
CREATE TABLE api_keys (
    key_id      text PRIMARY KEY,
    name        text NOT NULL,
    secret_hash bytea NOT NULL,
    -- the sources the key may send: 'logs', 'events', 'tickets:<source>', 'tickets:*', '*'
    scopes      text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    last_used_at timestamptz
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;

-- One row per (scope, key): reserved while the request is produced (completed_at NULL), then
-- the answer the sender got, replayed to any repeat until expires_at.
CREATE TABLE idempotency_keys (
    scope           text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    reserved_at     timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    status_code     integer,
    response_body   jsonb,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
