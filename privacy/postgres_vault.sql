-- The service's person-key vault (privacy/postgres.py), shared by its replicas. Each data key
-- is wrapped (AES-256-GCM) by a key-encryption key that is never stored in the database;
-- kek_id names which one, so a rotation (`python -m privacy.rewrap`) finds the keys to rewrap.
CREATE TABLE vault_keys (
    subject TEXT PRIMARY KEY,
    kek_id  TEXT NOT NULL,
    wrapped BYTEA NOT NULL
);
CREATE INDEX vault_keys_kek ON vault_keys (kek_id);

-- Erased subjects: their key is gone, and no replica may make them a new one.
CREATE TABLE vault_forgotten (
    subject TEXT PRIMARY KEY
);
