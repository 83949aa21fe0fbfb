-- The ledger in PostgreSQL (ledger/storage.py, config LEDGER_URL=postgresql://…?schema=ledger):
-- the same tables as the SQLite file (ledger/storage.py's SQLITE_SCHEMA; what each holds is in
-- ledger/log.py). The one text of it: platformrun/migrations/ledger/0001_ledger.sql links here,
-- and the ledger never creates it at run time.
CREATE TABLE entries (
    idx      BIGINT PRIMARY KEY,
    event_id TEXT UNIQUE,
    entry    BYTEA NOT NULL,
    leaf     BYTEA NOT NULL
);
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE cosignatures (
    size    BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TABLE merchant_postings (
    merchant_id TEXT NOT NULL,
    first_idx   BIGINT NOT NULL,
    idxs        BYTEA NOT NULL,
    PRIMARY KEY (merchant_id, first_idx)
);
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
