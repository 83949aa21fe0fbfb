"""Gateway settings, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from services.platform_mode import DEFAULT_MODE, platform_mode
from services.service_names import SERVICE_NAMES


@dataclass(frozen=True)
class LoginLimits:
    """Failed staff logins. The source that fails is locked; the username only slows down, so
    a stranger's failures never keep its owner out for longer than `backoff_cap` seconds."""

    max_failures: int = 5
    """Failures of one source on one username within the window before that pair is locked."""
    source_max_failures: int = 20
    """Failures of one source, whatever the usernames, within the window before it is locked."""
    window: float = 15 * 60
    backoff_base: float = 0.5
    """Once a username has `max_failures` failures from anywhere, each further attempt waits
    `backoff_base * 2**(failures - max_failures)` seconds after the last one..."""
    backoff_cap: float = 4.0
    """...but never longer than this."""

    @classmethod
    def from_env(cls, environ) -> LoginLimits:
        return cls(
            max_failures=int(environ.get("LOGIN_MAX_FAILURES", "5")),
            source_max_failures=int(environ.get("LOGIN_SOURCE_MAX_FAILURES", "20")),
            window=float(environ.get("LOGIN_FAILURE_WINDOW_SECONDS", str(15 * 60))),
            backoff_base=float(environ.get("LOGIN_BACKOFF_BASE_SECONDS", "0.5")),
            backoff_cap=float(environ.get("LOGIN_BACKOFF_CAP_SECONDS", "4")),
        )


@dataclass(frozen=True)
class GatewaySettings:
    amqp_uri: str
    host: str = "127.0.0.1"
    port: int = 8000
    metrics_port: int = 0
    """The operations port serving `/metrics` (Prometheus text) apart from the API: config
    `METRICS_PORT`, 0 (the default): no port, no metrics."""
    metrics_host: str = "127.0.0.1"
    mode: str = DEFAULT_MODE
    """`production` unless `demo` is chosen explicitly (dev-login, the simulated bank)."""
    rpc_pool_size: int = 8
    rpc_timeout: float = 10.0
    jwt_key_file: str = "var/gateway/jwt-ed25519.pem"
    idempotency_db: str = "var/gateway/idempotency.db"
    """The token signing key; created on first start in demo mode, required in production."""
    credentials_file: str = ""
    """The production logins' registry (services/gateway/credentials.py); none: no logins."""
    wechat_app_secret: str = ""
    revocation_db: str = "var/gateway/revoked.db"
    """Logged-out tokens' ids, until they expire."""
    token_ttl: int = 12 * 3600
    """Lifetime of dev-login and consumer tokens."""
    staff_token_ttl: int = 15 * 60
    """Lifetime of staff tokens (regulators, operators, bank staff)."""
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    proxy_hops: int = 0
    """Reverse proxies in front of the gateway that append to X-Forwarded-For (an Ingress: 1).
    Logins are throttled by the client's address, which is then the one they saw."""
    max_json_body: int = 64 * 1024
    """Bytes a request body may have; a route may allow more with `body_limits.body_limit`."""
    state_url: str = ""
    """Where the gateway keeps its state (Idempotency-Key records, revoked tokens, failed
    logins, used TOTP steps and device nonces): empty for SQLite files (`idempotency_db`,
    `revocation_db` and `logins.db` beside the first), or `postgresql://...?schema=gateway`,
    migrated beforehand (`python -m platformrun.migrate`), shared by every replica."""
    rate_limit_storage: str = ""
    """Where rate-limit counters live, shared by every replica that points at the same place:
    `sqlite:///path.db` or `postgresql://...?schema=gateway`. Empty: the PostgreSQL
    `state_url` if there is one, else a SQLite file next to the idempotency store."""
    login_rate_limit: str = "30 per minute;300 per hour"
    """Per source address, for the staff, device and consumer logins together."""
    dev_login_rate_limit: str = "3000 per minute"
    """Per source address. Dev-login exists only in demo mode, whose simulator signs in
    thousands of consumers from one machine; this only keeps a loop from burning the CPU."""
    complaint_rate_limit: str = "5 per hour;20 per day"
    """Per consumer: POST /complaints."""
    purchase_rate_limit: str = "10 per minute;100 per day"
    """Per consumer: POST /cards."""
    connection_limit: int = 1000
    """Open connections waitress keeps at most; past it, new ones wait in the backlog."""
    channel_timeout: int = 30
    """Seconds of silence after which waitress closes a connection (idle or half-sent)."""
    cleanup_interval: int = 5
    """How often, in seconds, waitress looks for connections past `channel_timeout`."""
    idempotency_ttl: int = 24 * 3600
    """Seconds an Idempotency-Key's stored response is kept and replayed."""
    idempotency_stale_after: int = 300
    revocation_refresh: float = 1.0
    """Seconds between reloads of the revoked tokens' ids: the longest a token logged out
    through another replica still works here (services/gateway/state/revocations.py)."""
    """Seconds after which a request still marked in progress is taken to have died with
    its process, and a retry with the same key runs it again."""
    evidence_dir: str = "var/gateway/evidence"
    """Where evidence files (a rectification's photos and documents) are kept, each under its
    SHA-256 (services/gateway/evidence.py), when the state is not in PostgreSQL; with
    `GATEWAY_STATE_URL=postgresql://...` they are in its schema (evidence_pg.py) instead."""
    max_evidence_body: int = 5 * 1024 * 1024
    """Bytes an evidence file may have: `PUT /evidence/{sha256}`."""
    server: str = "waitress"
    """The HTTP server (`GATEWAY_SERVER`): `waitress` or `granian` (services/gateway/serve.py
    says what each promises)."""
    services: tuple[str, ...] = SERVICE_NAMES

    @classmethod
    def from_env(cls, environ=os.environ) -> GatewaySettings:
        mode = platform_mode(environ)
        return cls(
            amqp_uri=environ["AMQP_URI"],
            host=environ.get("HOST", "127.0.0.1"),
            port=int(environ.get("PORT", "8000")),
            metrics_port=int(environ.get("METRICS_PORT") or 0),
            metrics_host=environ.get("METRICS_HOST", "127.0.0.1"),
            mode=mode,
            rpc_pool_size=int(environ.get("RPC_POOL_SIZE", "8")),
            rpc_timeout=float(environ.get("RPC_TIMEOUT", "10")),
            jwt_key_file=environ.get("GATEWAY_JWT_KEY_FILE", "var/gateway/jwt-ed25519.pem"),
            idempotency_db=environ.get("GATEWAY_IDEMPOTENCY_DB", "var/gateway/idempotency.db"),
            credentials_file=environ.get("GATEWAY_CREDENTIALS_FILE", ""),
            wechat_app_secret=environ.get("WECHAT_APP_SECRET", ""),
            revocation_db=environ.get("GATEWAY_REVOCATION_DB", "var/gateway/revoked.db"),
            token_ttl=int(environ.get("GATEWAY_TOKEN_TTL_SECONDS", str(12 * 3600))),
            staff_token_ttl=int(environ.get("GATEWAY_STAFF_TOKEN_TTL_SECONDS", str(15 * 60))),
            login_limits=LoginLimits.from_env(environ),
            proxy_hops=int(environ.get("GATEWAY_PROXY_HOPS", "0")),
            max_json_body=int(environ.get("GATEWAY_MAX_JSON_BODY", str(cls.max_json_body))),
            state_url=environ.get("GATEWAY_STATE_URL", ""),
            rate_limit_storage=environ.get("GATEWAY_RATE_LIMIT_STORAGE", ""),
            login_rate_limit=environ.get("GATEWAY_LOGIN_RATE_LIMIT", cls.login_rate_limit),
            dev_login_rate_limit=environ.get(
                "GATEWAY_DEV_LOGIN_RATE_LIMIT", cls.dev_login_rate_limit
            ),
            complaint_rate_limit=environ.get(
                "GATEWAY_COMPLAINT_RATE_LIMIT", cls.complaint_rate_limit
            ),
            purchase_rate_limit=environ.get("GATEWAY_PURCHASE_RATE_LIMIT", cls.purchase_rate_limit),
            connection_limit=int(
                environ.get("GATEWAY_CONNECTION_LIMIT", str(cls.connection_limit))
            ),
            channel_timeout=int(environ.get("GATEWAY_CHANNEL_TIMEOUT", str(cls.channel_timeout))),
            cleanup_interval=int(
                environ.get("GATEWAY_CLEANUP_INTERVAL", str(cls.cleanup_interval))
            ),
            idempotency_ttl=int(environ.get("GATEWAY_IDEMPOTENCY_TTL", str(cls.idempotency_ttl))),
            revocation_refresh=float(
                environ.get("GATEWAY_REVOCATION_REFRESH_SECONDS", str(cls.revocation_refresh))
            ),
            idempotency_stale_after=int(
                environ.get("GATEWAY_IDEMPOTENCY_STALE_AFTER", str(cls.idempotency_stale_after))
            ),
            evidence_dir=environ.get("GATEWAY_EVIDENCE_DIR", cls.evidence_dir),
            max_evidence_body=int(
                environ.get("GATEWAY_MAX_EVIDENCE_BODY", str(cls.max_evidence_body))
            ),
            server=environ.get("GATEWAY_SERVER", cls.server),
        )

    def rate_limit_storage_uri(self) -> str:
        if self.rate_limit_storage:
            return self.rate_limit_storage
        if self.state_url.startswith(("postgresql:", "postgres:")):
            return self.state_url
        return f"sqlite:///{Path(self.idempotency_db).resolve().with_name('rate-limits.db')}"
