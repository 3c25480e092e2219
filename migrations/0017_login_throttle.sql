-- phase: expand
-- Login throttling (issue 28): failed logins per (account, client address), shared by every API
-- process, so that several processes do not multiply the attempts an attacker gets. Both keys
-- are SHA-256 digests, not the username as typed (it may be a mistyped password or an e-mail
-- address) nor the address; rows without a recent success are purged after a day.

CREATE TABLE login_attempts (
    account          bytea NOT NULL,
    client_address   bytea NOT NULL,
    -- attempts since the last success from this address (a running attempt counts already)
    failures         integer NOT NULL,
    last_attempt_at  timestamptz NOT NULL,
    locked_until     timestamptz,
    -- a known address is exempt from the per-account ceiling (docs/graphql.md)
    last_success_at  timestamptz,
    PRIMARY KEY (account, client_address)
);

CREATE INDEX login_attempts_by_account_recent ON login_attempts (account, last_attempt_at);
