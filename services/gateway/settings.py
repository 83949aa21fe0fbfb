"""Gateway settings, read from the environment once at start-up."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from services.registry import SERVICE_CLASSES


@dataclass(frozen=True)
class GatewaySettings:
    amqp_uri: str
    host: str = "127.0.0.1"
    port: int = 8000
    mode: str = "demo"
    """`demo` enables dev-login and the simulated bank; `production` is an explicit choice."""
    rpc_pool_size: int = 8
    rpc_timeout: float = 10.0
    jwt_key_file: str = "var/gateway/jwt-ed25519.pem"
    idempotency_db: str = "var/gateway/idempotency.db"
    """The token signing key; created on first start in demo mode, required in production."""
    credentials_file: str = ""
    """The production logins' registry (services/gateway/credentials.py); none: no logins."""
    wechat_app_secret: str = ""
    services: tuple[str, ...] = field(default_factory=lambda: tuple(SERVICE_CLASSES))

    @classmethod
    def from_env(cls, environ=os.environ) -> GatewaySettings:
        mode = environ.get("PLATFORM_MODE", "demo")
        if mode not in ("demo", "production"):
            raise ValueError(f"PLATFORM_MODE must be demo or production, not {mode!r}")
        return cls(
            amqp_uri=environ["AMQP_URI"],
            host=environ.get("HOST", "127.0.0.1"),
            port=int(environ.get("PORT", "8000")),
            mode=mode,
            rpc_pool_size=int(environ.get("RPC_POOL_SIZE", "8")),
            rpc_timeout=float(environ.get("RPC_TIMEOUT", "10")),
            jwt_key_file=environ.get("GATEWAY_JWT_KEY_FILE", "var/gateway/jwt-ed25519.pem"),
            idempotency_db=environ.get("GATEWAY_IDEMPOTENCY_DB", "var/gateway/idempotency.db"),
            credentials_file=environ.get("GATEWAY_CREDENTIALS_FILE", ""),
            wechat_app_secret=environ.get("WECHAT_APP_SECRET", ""),
        )
