-- Run once by the postgres image when it initialises its data volume (compose.yaml).
-- Each service creates its schema itself, but a service and its relay start together, and
-- two concurrent CREATE SCHEMA IF NOT EXISTS can collide (one process then fails its first
-- start, eventstore/postgres.py); schemas that already exist take that race away.
CREATE SCHEMA IF NOT EXISTS merchant;
CREATE SCHEMA IF NOT EXISTS escrow;
CREATE SCHEMA IF NOT EXISTS risk;
CREATE SCHEMA IF NOT EXISTS inspection;
