-- Leases of scheduled jobs and of the ledger's writer (services/job_lock.py): one row per job,
-- who holds it until when by the server's clock, and a token that grows with each new holder.
-- Each service's schema has it from its migrations (a link to this file); a schema never
-- migrated (tests, development) gets it when the first lock is taken.
CREATE TABLE IF NOT EXISTS job_leases (
    job        TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    token      BIGINT NOT NULL
);
