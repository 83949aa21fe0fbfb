"""The Flask application factory. Nothing connects until the first request needs it."""
from __future__ import annotations

from flask import Flask

from services.gateway import (
    auth_api,
    cards_api,
    demo_api,
    health,
    ledger_api,
    logins_api,
    merchants_api,
    openapi,
    risk_api,
)
from services.gateway.auth import TokenIssuer
from services.gateway.credentials import Credentials
from services.gateway.errors import register_error_handlers
from services.gateway.idempotency import IdempotencyStore
from services.gateway.rpc_pool import RpcProxyPool
from services.gateway.settings import GatewaySettings
from services.gateway.validation import StrictJSONProvider

API_AREAS = (auth_api, logins_api, merchants_api, cards_api, risk_api, ledger_api,
             demo_api)


def create_app(settings: GatewaySettings, rpc_pool: RpcProxyPool | None = None,
               tokens: TokenIssuer | None = None, code_exchange=None) -> Flask:
    """`code_exchange` stands in for the mini-program's (tests); by default the WeChat
    exchange is used when the credentials file has a [wechat] section and a secret is set."""
    app = Flask(__name__)
    app.json = StrictJSONProvider(app)
    app.json.sort_keys = False
    app.config["SETTINGS"] = settings
    app.config["RPC_POOL"] = rpc_pool or RpcProxyPool(
        settings.amqp_uri, size=settings.rpc_pool_size, timeout=settings.rpc_timeout
    )
    app.config["TOKENS"] = tokens or TokenIssuer.from_key_file(
        settings.jwt_key_file, create=settings.mode == "demo")
    app.config["IDEMPOTENCY"] = IdempotencyStore(settings.idempotency_db)
    credentials = Credentials.load(settings.credentials_file)
    app.config["CREDENTIALS"] = credentials
    app.config["LOGIN_GUARD"] = logins_api.LoginGuard()
    if code_exchange is None and credentials.wechat and settings.wechat_app_secret:
        code_exchange = logins_api.WeChatCodeExchange(
            credentials.wechat["app_id"], settings.wechat_app_secret,
            credentials.wechat.get("endpoint", "https://api.weixin.qq.com/sns/jscode2session"))
    app.config["CODE_EXCHANGE"] = code_exchange
    register_error_handlers(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(openapi.blueprint)
    for area in API_AREAS:
        app.register_blueprint(area.blueprint)
    app.config["OPENAPI"] = openapi.build_spec(API_AREAS, app)
    return app
