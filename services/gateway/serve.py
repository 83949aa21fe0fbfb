"""`python -m services.gateway.serve`: the gateway on waitress, a production WSGI server.

Waitress serves with a fixed number of threads, and the RPC pool has as many proxies, so a
request never waits for a proxy that another thread could not release.
"""
from __future__ import annotations

import logging

import waitress

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = GatewaySettings.from_env()
    app = create_app(settings)
    try:
        waitress.serve(app, host=settings.host, port=settings.port,
                       threads=settings.rpc_pool_size, ident="prepaid-gateway")
    finally:
        app.config["RPC_POOL"].close()


if __name__ == "__main__":
    main()
