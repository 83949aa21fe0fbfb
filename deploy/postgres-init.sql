-- Run once by the postgres image when it initialises its data volume (compose.yaml).
-- The schemas and their tables come from the migrations (`python -m platformrun.migrate`, the
-- compose service `migrate`), which create a missing schema themselves; making them here as
-- well is harmless and keeps a volume initialised by older code the same.
CREATE SCHEMA IF NOT EXISTS merchant;
CREATE SCHEMA IF NOT EXISTS escrow;
CREATE SCHEMA IF NOT EXISTS risk;
CREATE SCHEMA IF NOT EXISTS inspection;
