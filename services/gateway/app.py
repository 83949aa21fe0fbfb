"""The Flask application factory. Nothing connects until the first request needs it."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.gateway import (
    alerts_api,
    auth_api,
    body_limits,
    cards_api,
    city_api,
    counter_api,
    demo_api,
    evidence_api,
    health,
    inspection_plans_api,
    inspections_api,
    keys_api,
    ledger_api,
    logins_api,
    merchant_ledger_api,
    merchants_api,
    metrics,
    openapi,
    pages,
    privacy_api,
    rate_limits,
    reconciliation_api,
    request_context,
    risk_api,
)
from services.gateway.auth import TokenIssuer
from services.gateway.clients import Clients
from services.gateway.credentials import Credentials
from services.gateway.errors import register_error_handlers
from services.gateway.evidence_pg import open_evidence_store
from services.gateway.login_guard import LoginGuard
from services.gateway.remote import RemoteCaller
from services.gateway.rpc_pool import RpcProxyPool
from services.gateway.settings import GatewaySettings
from services.gateway.state.open import open_state
from services.gateway.validation import StrictJSONProvider

API_AREAS = (
    auth_api,
    logins_api,
    merchants_api,
    cards_api,
    counter_api,
    risk_api,
    alerts_api,
    inspection_plans_api,
    inspections_api,
    evidence_api,
    city_api,
    ledger_api,
    merchant_ledger_api,
    reconciliation_api,
    keys_api,
    demo_api,
    privacy_api,
)


def create_app(
    settings: GatewaySettings,
    rpc_pool: RpcProxyPool | None = None,
    tokens: TokenIssuer | None = None,
    code_exchange=None,
) -> Flask:
    """`code_exchange` stands in for the mini-program's (tests); by default the WeChat
    exchange is used when the credentials file has a [wechat] section and a secret is set."""
    # No app-wide /static route: the pages' files are served by their own blueprint there.
    app = Flask(__name__, static_folder=None)
    app.json = StrictJSONProvider(app)
    app.json.sort_keys = False
    app.config["SETTINGS"] = settings
    app.config["RPC_POOL"] = rpc_pool or RpcProxyPool(
        settings.amqp_uri, size=settings.rpc_pool_size, timeout=settings.rpc_timeout
    )
    app.config["CLIENTS"] = Clients.over(RemoteCaller(app.config["RPC_POOL"]))
    state = open_state(
        settings.state_url,
        idempotency_db=settings.idempotency_db,
        revocation_db=settings.revocation_db,
        idempotency_ttl=settings.idempotency_ttl,
        idempotency_stale_after=settings.idempotency_stale_after,
        revocation_refresh=settings.revocation_refresh,
    )
    app.config["STATE"] = state
    try:
        # Now rather than at the first evidence request: a schema without the evidence tables
        # stops the gateway at start (NotMigrated), not every upload with a 500.
        app.config["EVIDENCE"] = open_evidence_store(
            settings.state_url, settings.evidence_dir, state.dbs
        )
    except Exception:
        state.close()
        raise
    app.config["TOKENS"] = tokens or TokenIssuer.from_key_file(
        settings.jwt_key_file,
        mode=settings.mode,
        create=settings.mode == "demo",
        ttl_seconds=settings.token_ttl,
        revoked=state.revoked,
    )
    app.config["IDEMPOTENCY"] = state.idempotency
    credentials = Credentials.load(settings.credentials_file)
    app.config["CREDENTIALS"] = credentials
    app.config["LOGIN_GUARD"] = LoginGuard(
        state.login_failures, state.used_codes, settings.login_limits
    )
    if code_exchange is None and credentials.wechat and settings.wechat_app_secret:
        code_exchange = logins_api.WeChatCodeExchange(
            credentials.wechat["app_id"],
            settings.wechat_app_secret,
            credentials.wechat.get("endpoint", "https://api.weixin.qq.com/sns/jscode2session"),
        )
    app.config["CODE_EXCHANGE"] = code_exchange
    if settings.proxy_hops:
        # Only the addresses our own proxies appended are believed: a client cannot pick the
        # source its failed logins are counted against.
        # Flask's documented way to put WSGI middleware in front of the app.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops
        )
    register_error_handlers(app)
    metrics.install(app)
    request_context.register(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(openapi.blueprint)
    for area in API_AREAS:
        app.register_blueprint(area.blueprint)
    # The HTML pages and their files; not API routes (no @operation, not in the OpenAPI).
    pages.install(app)
    body_limits.install(app)
    rate_limits.install(app, settings)
    app.config["OPENAPI"] = openapi.build_spec(app)
    return app
