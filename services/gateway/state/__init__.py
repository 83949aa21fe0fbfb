"""The gateway's state that every replica must see alike: Idempotency-Key records, revoked
tokens, failed logins, used TOTP steps and device nonces (and, in limit_storage.py, the
rate-limit counters). One small port per concern (`ports.py`), each with one SQL adapter that
runs on SQLite files (one machine, the default) or on PostgreSQL (any number of replicas):
`GATEWAY_STATE_URL=postgresql://...?schema=gateway`.

On PostgreSQL the tables come from the versioned migrations (`python -m platformrun.migrate`,
platformrun/migrations/gateway/) and the gateway never issues CREATE; a SQLite file creates
its own tables when it is opened.
"""
