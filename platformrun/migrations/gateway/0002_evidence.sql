-- Evidence files (services/gateway/evidence_pg.py): a rectification's photos and documents,
-- shared by every gateway replica. Named by the SHA-256 of their bytes, written once.
CREATE TABLE evidence_files (
    sha256  TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    body    BYTEA NOT NULL CHECK (length(body) > 0),
    created DOUBLE PRECISION NOT NULL
);

-- Who uploaded each file (`role:subject`): decides which merchant or inspector may read it.
CREATE TABLE evidence_uploaders (
    sha256   TEXT NOT NULL REFERENCES evidence_files (sha256),
    uploader TEXT NOT NULL,
    PRIMARY KEY (sha256, uploader)
);
