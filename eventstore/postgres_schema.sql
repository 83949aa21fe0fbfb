-- A service's event store in PostgreSQL (eventstore/postgres.py): events, consumers' tracking
-- and positions, views and parked events. The one text of it: each service's first migration
-- (platformrun/migrations/<service>/0001_event_store.sql) links to this file, and a store
-- whose schema was never migrated (tests, development) runs it at open. IF NOT EXISTS: a store
-- opened before migrations existed created these tables itself, and they are kept as they are.
CREATE TABLE IF NOT EXISTS events (
    position    BIGINT PRIMARY KEY,
    event_id    UUID NOT NULL UNIQUE,
    stream      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT NOT NULL,
    data        JSONB NOT NULL,
    metadata    JSONB NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS tracking (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS positions (
    consumer TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS views (
    collection TEXT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    doc        JSONB NOT NULL,
    PRIMARY KEY (collection, key)
);
CREATE TABLE IF NOT EXISTS parked_events (
    consumer  TEXT NOT NULL,
    position  BIGINT NOT NULL,
    event_id  TEXT NOT NULL,
    type      TEXT NOT NULL,
    error     TEXT NOT NULL,
    parked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consumer, position)
);
-- Views are paged by key ("<merchant>/<time>|<id>" and the like): a page is every key after
-- the last one, and a list is the keys under a prefix. That needs byte order; a database's
-- own collation (en_US on most images) ignores punctuation and would mix "m-1/" with "m-10/".
-- Tables made before the column said so are altered once.
DO $$ BEGIN
    IF (SELECT collation_name FROM information_schema.columns WHERE table_schema =
            current_schema() AND table_name = 'views' AND column_name = 'key')
            IS DISTINCT FROM 'C' THEN
        ALTER TABLE views ALTER COLUMN key TYPE TEXT COLLATE "C";
    END IF;
END $$;
