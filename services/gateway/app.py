"""The Flask application factory. Nothing connects until the first request needs it."""
from __future__ import annotations

from flask import Flask

from services.gateway import health
from services.gateway.errors import register_error_handlers
from services.gateway.rpc_pool import RpcProxyPool
from services.gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings, rpc_pool: RpcProxyPool | None = None) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["SETTINGS"] = settings
    app.config["RPC_POOL"] = rpc_pool or RpcProxyPool(
        settings.amqp_uri, size=settings.rpc_pool_size, timeout=settings.rpc_timeout
    )
    register_error_handlers(app)
    app.register_blueprint(health.blueprint)
    return app
