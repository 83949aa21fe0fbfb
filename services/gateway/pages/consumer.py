"""The consumer's pages under /app/ (mobile first, WeUI): my cards and the spends waiting for
me, a merchant with its products, one card, the spends list, complaints, and a receipt
verified in the browser. Each route only renders its template; the page's module reads the
ids from the address and everything else from the public API."""

from __future__ import annotations

from flask import Blueprint, render_template

blueprint = Blueprint("consumer_pages", __name__, url_prefix="/app")


@blueprint.get("/")
def home():
    return render_template("app/home.html")


@blueprint.get("/merchants/<merchant_id>")
def merchant(merchant_id: str):
    return render_template("app/merchant.html")


@blueprint.get("/cards/<card_id>")
def card(card_id: str):
    return render_template("app/card.html")


@blueprint.get("/spends")
def spends():
    return render_template("app/spends.html")


@blueprint.get("/complaints")
def complaints():
    return render_template("app/complaints.html")


@blueprint.get("/receipts/<event_id>")
def receipt(event_id: str):
    return render_template("app/receipt.html")
