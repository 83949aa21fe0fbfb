"""The Flask application factory. Nothing connects until the first request needs it."""
from __future__ import annotations

from flask import Flask

from services.gateway import auth_api, cards_api, health, ledger_api, merchants_api, openapi
from services.gateway.auth import TokenIssuer
from services.gateway.errors import register_error_handlers
from services.gateway.idempotency import IdempotencyStore
from services.gateway.rpc_pool import RpcProxyPool
from services.gateway.settings import GatewaySettings

API_AREAS = (auth_api, merchants_api, cards_api, ledger_api)


def create_app(settings: GatewaySettings, rpc_pool: RpcProxyPool | None = None,
               tokens: TokenIssuer | None = None) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["SETTINGS"] = settings
    app.config["RPC_POOL"] = rpc_pool or RpcProxyPool(
        settings.amqp_uri, size=settings.rpc_pool_size, timeout=settings.rpc_timeout
    )
    app.config["TOKENS"] = tokens or TokenIssuer.from_key_file(
        settings.jwt_key_file, create=settings.mode == "demo")
    app.config["IDEMPOTENCY"] = IdempotencyStore(settings.idempotency_db)
    register_error_handlers(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(openapi.blueprint)
    for area in API_AREAS:
        app.register_blueprint(area.blueprint)
    app.config["OPENAPI"] = openapi.build_spec(API_AREAS)
    return app
