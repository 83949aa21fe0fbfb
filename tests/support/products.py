"""A stand-in for the merchant service's product catalogue, as escrow's handlers ask it."""

from __future__ import annotations


class Products:
    def __init__(self, **products: dict):
        self.products = products

    def product_for_sale(self, product_id: str) -> dict:
        return self.products[product_id]
