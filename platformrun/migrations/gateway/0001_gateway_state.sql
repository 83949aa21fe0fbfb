-- The gateway's shared state (services/gateway/state/): every replica reads and writes these.

-- Idempotency-Key records: status -1 while the request runs; expired after GATEWAY_IDEMPOTENCY_TTL.
CREATE TABLE responses (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BYTEA,
    created     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX responses_created ON responses (created);

-- Logged-out tokens' ids, until the tokens expire.
CREATE TABLE revoked (
    jti        TEXT PRIMARY KEY,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX revoked_expiry ON revoked (expires_at);

-- Failed staff logins, one row per failure in each of three tables: by source and username
-- (locks the pair), by username (slows it down), by source (locks the source). A success
-- clears its own pair and the username, and only its own row of the source.
CREATE TABLE login_failures (
    source   TEXT NOT NULL,
    username TEXT NOT NULL,
    at       DOUBLE PRECISION NOT NULL
);
CREATE INDEX login_failures_pair ON login_failures (source, username, at);
CREATE INDEX login_failures_at ON login_failures (at);
CREATE TABLE login_username_failures (
    username TEXT NOT NULL,
    at       DOUBLE PRECISION NOT NULL
);
CREATE INDEX login_username_failures_username ON login_username_failures (username, at);
CREATE INDEX login_username_failures_at ON login_username_failures (at);
CREATE TABLE login_source_failures (
    source TEXT NOT NULL,
    at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX login_source_failures_source ON login_source_failures (source, at);
CREATE INDEX login_source_failures_at ON login_source_failures (at);

-- The last TOTP step each staff member used: a code works once.
CREATE TABLE totp_steps (
    who  TEXT PRIMARY KEY,
    step BIGINT NOT NULL
);

-- Device nonces seen within twice the signature window.
CREATE TABLE device_nonces (
    nonce TEXT PRIMARY KEY,
    at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX device_nonces_at ON device_nonces (at);

-- Rate-limit counters (services/gateway/limit_storage.py). A gateway that shared them before
-- migrations existed created this table itself: kept as it is.
CREATE TABLE IF NOT EXISTS rate_limit_counters (
    key        TEXT PRIMARY KEY,
    hits       BIGINT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_limit_counters_expiry ON rate_limit_counters (expires_at);
