"""The escrow's `Merchants` port (application/ports.py) over RPC to the merchant service."""

from __future__ import annotations

from typing import Any


class ProductsOverRpc:
    """Asks the merchant service whether a product is for sale, through a nameko RPC proxy."""

    def __init__(self, proxy: Any):
        self.proxy = proxy

    def product_for_sale(self, product_id: str) -> dict:
        return self.proxy.product_for_sale(product_id)
