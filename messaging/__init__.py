"""Integration messaging: the outbox relay (pika) and the idempotent nameko consumer."""
