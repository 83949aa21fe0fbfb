"""The merchant's console `/merchant/` (desktop and tablet): its overview (health code,
figures as charts, payouts, credit report), products and promotions, the counter, the
complaints about it, and its inspections (the e码查 check-in code, rectifications). The
pages are shells: their scripts (static/js/merchant/) ask the public API as the logged-in
merchant, whose token's subject is its merchant_id."""

from __future__ import annotations

from flask import Blueprint, render_template

blueprint = Blueprint("merchant_pages", __name__, url_prefix="/merchant")

SECTIONS = (
    ("overview", "/merchant/", "经营概况"),
    ("products", "/merchant/products", "商品与优惠"),
    ("counter", "/merchant/counter", "柜台核销"),
    ("complaints", "/merchant/complaints", "投诉处理"),
    ("inspections", "/merchant/inspections", "监督检查"),
)
"""The console's navigation, in order: (page, path, its name)."""


def _page(template: str, section: str):
    return render_template(f"merchant/{template}", sections=SECTIONS, current=section)


@blueprint.get("/")
def overview():
    return _page("overview.html", "overview")


@blueprint.get("/products")
def products():
    return _page("products.html", "products")


@blueprint.get("/counter")
def counter():
    return _page("counter.html", "counter")


@blueprint.get("/complaints")
def complaints():
    return _page("complaints.html", "complaints")


@blueprint.get("/inspections")
def inspections():
    return _page("inspections.html", "inspections")
