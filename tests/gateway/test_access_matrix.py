"""Who may call what: every gateway route x {anonymous, consumer A, consumer B, merchant X,
merchant Y, regulator, bank, operator}, against real merchant, escrow and ledger services.

Each cell that could change state gets fresh objects, so cells do not depend on each other.
A refused cell must answer the contract's error shape, leak nothing of the object, and leave
it as it was. The table must cover exactly the routes the gateway serves.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from policy import DEFAULT_FILE
from services.gateway.app import create_app
from tests.support.gateway import auth, gateway_settings, is_page_route
from tests.support.harness import (
    start_nameko,
    start_relay,
    start_service,
    stop,
    store_url,
    wait_until,
)
from tests.support.merchants import fresh_uscc

pytestmark = pytest.mark.broker

WHO = (
    "anonymous",
    "consumer_a",
    "consumer_b",
    "merchant_x",
    "merchant_y",
    "regulator",
    "bank",
    "operator",
    "inspector",
)
# Cheap, so consumer A's many cards stay under the per-merchant cap.
SV = {"type": "stored_value", "name": "10+1", "price": 1_000, "bonus": 100, "validity_days": 365}
KEYS = itertools.count()


def row(allowed: dict[str, int], default: int) -> dict[str, int]:
    """Statuses by principal: `allowed` named, the rest `default`, anonymous 401."""
    return {"anonymous": 401, **{w: default for w in WHO[1:]}, **allowed}


PUBLIC = dict.fromkeys(WHO, 200)
OWNER_A = row({"consumer_a": 200, "consumer_b": 404}, 403)
# /consumers/me and its lists: each consumer sees its own.
ANY_CONSUMER = row({"consumer_a": 200, "consumer_b": 200}, 403)
# A merchant's own object: merchant_y gets 404 as for anything not its own.
MERCHANT_X = row({"merchant_x": 200, "merchant_y": 404}, 403)
MERCHANT_X_OR_REGULATOR = {**MERCHANT_X, "regulator": 200}


class World:
    """Real objects made through the API by the principals who own them."""

    def __init__(self, client):
        self.client = client
        self.headers = {"anonymous": {}}
        for who, (role, subject) in {
            "consumer_a": ("consumer", "c-a"),
            "consumer_b": ("consumer", "c-b"),
            "regulator": ("regulator", "r-1"),
            "bank": ("bank", "b-1"),
            "operator": ("operator", "o-1"),
            "inspector": ("inspector", "ins-1"),
            # The makers whose steps "regulator" and "operator" check (maker-checker).
            "maker_operator": ("operator", "o-0"),
            "maker_regulator": ("regulator", "r-0"),
        }.items():
            self.headers[who] = self.login(role, subject)
        self.x, self.y = self.merchant(), self.merchant()
        self.headers["merchant_x"] = self.login("merchant", self.x)
        self.headers["merchant_y"] = self.login("merchant", self.y)
        self.product = self.post(f"/api/v1/merchants/{self.x}/products", SV, "merchant_x")
        self.card = self.buy()

    def login(self, role, subject):
        return auth(self.client, role, subject)

    def post(self, url, body, who):
        answer = self.client.post(url, json=body, headers=self.headers[who])
        assert answer.status_code in (200, 201), (url, answer.get_json())
        return answer.get_json()

    def merchant(self, approve=True):
        made = self.post(
            "/api/v1/merchants",
            {
                "name": "Shop",
                "uscc": fresh_uscc(),
                "industry": "fitness",
                "address": "Weihai",
                "contact_phone": "13812345678",
            },
            "maker_operator",
        )["merchant_id"]
        if approve:
            self.post(f"/api/v1/merchants/{made}/approve", {}, "operator")
        return made

    def default_proposed(self):
        """A merchant whose default another regulator has proposed, for "regulator" to
        confirm."""
        made = self.merchant()
        answer = self.client.post(
            f"/api/v1/merchants/{made}/default",
            json={"reason": "absconded"},
            headers=self.headers["maker_regulator"],
        )
        assert answer.status_code == 202, answer.get_json()
        return made

    def buy(self):
        return self.post("/api/v1/cards", {"product_id": self.product["product_id"]}, "consumer_a")

    def card_code(self):
        card = self.client.get(
            f"/api/v1/cards/{self.card['card_id']}", headers=self.headers["consumer_a"]
        )
        return card.get_json()["card_code"]

    def hold(self):
        card = self.buy()
        return self.post(
            f"/api/v1/cards/{card['card_id']}/redemptions", {"amount": 100}, "merchant_x"
        )

    def complaint(self):
        return self.post(
            "/api/v1/complaints",
            {
                "merchant_id": self.x,
                "card_id": self.card["card_id"],
                "category": "quality",
                "text": "the towels were dirty",
            },
            "consumer_a",
        )["complaint_id"]

    def alert(self, acknowledged=False):
        """A fresh alert: a complaint from the only customer of a fresh merchant turns it
        yellow, once the risk service has seen the card (complaints count from customers)."""
        merchant = self.merchant()
        product = self.client.post(
            f"/api/v1/merchants/{merchant}/products",
            json=SV,
            headers=self.login("merchant", merchant),
        ).get_json()
        card = self.post("/api/v1/cards", {"product_id": product["product_id"]}, "consumer_b")
        self.post(
            "/api/v1/complaints",
            {
                "merchant_id": merchant,
                "card_id": card["card_id"],
                "category": "other",
                "text": "closed early",
            },
            "consumer_b",
        )
        alert_id = wait_until(
            lambda: next(
                (
                    a["alert_id"]
                    for a in self.client.get(
                        "/api/v1/alerts", headers=self.headers["regulator"]
                    ).get_json()["items"]
                    if a["merchant_id"] == merchant
                ),
                None,
            ),
            timeout=30,
            what="the alert",
        )
        if acknowledged:
            self.post(f"/api/v1/alerts/{alert_id}/acknowledge", {}, "regulator")
        return alert_id

    def learnt_spend(self):
        """A spend consumer A confirmed at X, once the risk service has learnt it: consumer B's
        rating of it turns from 409 (not learnt) to 404 (not theirs), changing nothing."""
        hold = self.hold()
        self.post(f"/api/v1/redemptions/{hold['redemption_id']}/confirm", {}, "consumer_a")
        url = f"/api/v1/redemptions/{hold['redemption_id']}/rating"
        wait_until(
            lambda: (
                self.client.post(
                    url, json={"stars": 5}, headers=self.headers["consumer_b"]
                ).status_code
                == 404
            ),
            timeout=30,
            what="the risk service to learn the spend",
        )
        return hold["redemption_id"]

    def confirmed_event(self):
        hold = self.hold()
        return self.post(f"/api/v1/redemptions/{hold['redemption_id']}/confirm", {}, "consumer_a")[
            "event_id"
        ]


def in_future(days):
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


# route -> (method, make(world) -> (url, body, state probe or None), expected statuses)
TABLE = {
    "/api/v1/auth/dev-login": (
        "POST",
        lambda w: ("/api/v1/auth/dev-login", {"role": "consumer", "subject": "c-z"}, None),
        PUBLIC,
    ),
    "/auth/dev-login": (
        "POST",
        lambda w: ("/auth/dev-login", {"role": "bank", "subject": "b-z"}, None),
        PUBLIC,
    ),
    "/api/v1/auth/staff/login": (
        "POST",
        lambda w: (
            "/api/v1/auth/staff/login",
            {"username": "u", "password": "p", "totp": "123456"},
            None,
        ),
        dict.fromkeys(WHO, 404),
    ),
    "/api/v1/auth/device/token": (
        "POST",
        lambda w: (
            "/api/v1/auth/device/token",
            {"key_id": "k", "timestamp": 1, "nonce": "n" * 16},
            None,
        ),
        dict.fromkeys(WHO, 404),
    ),
    "/api/v1/auth/consumer/login": (
        "POST",
        lambda w: ("/api/v1/auth/consumer/login", {"code": "c"}, None),
        dict.fromkeys(WHO, 404),
    ),
    "/api/v1/openapi.json": ("GET", lambda w: ("/api/v1/openapi.json", None, None), PUBLIC),
    "/healthz": ("GET", lambda w: ("/healthz", None, None), None),
    "/livez": ("GET", lambda w: ("/livez", None, None), None),
    "/readyz": ("GET", lambda w: ("/readyz", None, None), None),
    "/api/v1/merchants": (
        "POST",
        lambda w: (
            "/api/v1/merchants",
            {
                "name": "New",
                "uscc": fresh_uscc(),
                "industry": "beauty",
                "address": "A",
                "contact_phone": "13812345678",
            },
            None,
        ),
        row({"merchant_x": 201, "merchant_y": 201, "operator": 201}, 403),
    ),
    "/api/v1/merchants#GET": ("GET", lambda w: ("/api/v1/merchants", None, None), PUBLIC),
    "/api/v1/merchants/<merchant_id>": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}", None, None),
        PUBLIC,
    ),
    "/api/v1/merchants/<merchant_id>/approve": (
        "POST",
        lambda w: (
            f"/api/v1/merchants/{(m := w.merchant(approve=False))}/approve",
            {},
            f"/api/v1/merchants/{m}",
        ),
        row({"operator": 200}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/products": (
        "POST",
        lambda w: (f"/api/v1/merchants/{w.x}/products", SV, None),
        row({"merchant_x": 201, "merchant_y": 404}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/promotions": (
        "POST",
        lambda w: (
            f"/api/v1/merchants/{w.x}/promotions",
            {
                "product_id": w.post(f"/api/v1/merchants/{w.x}/products", SV, "merchant_x")[
                    "product_id"
                ],
                "name": "Spring",
                "bonus": 200,
                "starts_at": in_future(1),
                "ends_at": in_future(8),
            },
            None,
        ),
        row({"merchant_x": 201, "merchant_y": 404}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/promotions#GET": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/promotions", None, None),
        PUBLIC,
    ),
    "/api/v1/merchants/<merchant_id>/products#GET": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/products", None, None),
        PUBLIC,
    ),
    "/api/v1/merchants/<merchant_id>/products/<product_id>/retire": (
        "POST",
        lambda w: (
            f"/api/v1/merchants/{w.x}/products/"
            f"{w.post(f'/api/v1/merchants/{w.x}/products', SV, 'merchant_x')['product_id']}/retire",
            {},
            f"/api/v1/merchants/{w.x}/products?include_retired=true&limit=500",
        ),
        MERCHANT_X,
    ),
    "/api/v1/merchants/<merchant_id>/stats": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/stats", None, None),
        MERCHANT_X_OR_REGULATOR,
    ),
    "/api/v1/merchants/<merchant_id>/flags": (
        "POST",
        lambda w: (
            f"/api/v1/merchants/{(m := w.merchant())}/flags",
            {"flag": "abnormal_operations", "on": True, "source": "samr"},
            f"/api/v1/merchants/{m}",
        ),
        row({"regulator": 200, "operator": 200}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/default": (
        "POST",
        lambda w: (
            f"/api/v1/merchants/{(m := w.default_proposed())}/default",
            {"reason": "absconded"},
            f"/api/v1/merchants/{m}",
        ),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/default/progress": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/default/progress", None, None),
        row({"regulator": 200}, 403),
    ),
    # A fresh merchant is active, not delisted: the regulator is let in and refused (409).
    "/api/v1/merchants/<merchant_id>/reinstate": (
        "POST",
        lambda w: (
            f"/api/v1/merchants/{(m := w.merchant())}/reinstate",
            {"reason": "rectified"},
            f"/api/v1/merchants/{m}",
        ),
        row({"regulator": 409}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/settlements": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/settlements", None, None),
        MERCHANT_X,
    ),
    "/api/v1/cards": (
        "POST",
        lambda w: ("/api/v1/cards", {"product_id": w.product["product_id"]}, None),
        row({"consumer_a": 201, "consumer_b": 201}, 403),
    ),
    "/api/v1/payments/<payment_id>/confirm": (
        "POST",
        lambda w: (
            f"/api/v1/payments/{(c := w.buy())['payment']['payment_id']}/confirm",
            {},
            f"/api/v1/cards/{c['card_id']}",
        ),
        row({"bank": 200}, 403),
    ),
    "/api/v1/cards/<card_id>": (
        "GET",
        lambda w: (f"/api/v1/cards/{w.card['card_id']}", None, None),
        row(
            {
                "consumer_a": 200,
                "consumer_b": 404,
                "merchant_x": 200,
                "merchant_y": 404,
                "regulator": 200,
            },
            403,
        ),
    ),
    "/api/v1/consumers/me/cards": (
        "GET",
        lambda w: ("/api/v1/consumers/me/cards", None, None),
        ANY_CONSUMER,
    ),
    "/api/v1/cards/<card_id>/redemptions": (
        "POST",
        lambda w: (
            f"/api/v1/cards/{(c := w.buy())['card_id']}/redemptions",
            {"amount": 50},
            f"/api/v1/cards/{c['card_id']}",
        ),
        row({"merchant_x": 201, "merchant_y": 404}, 403),
    ),
    "/api/v1/redemptions/<redemption_id>/confirm": (
        "POST",
        lambda w: (f"/api/v1/redemptions/{w.hold()['redemption_id']}/confirm", {}, "hold"),
        OWNER_A,
    ),
    "/api/v1/redemptions/<redemption_id>/reject": (
        "POST",
        lambda w: (f"/api/v1/redemptions/{w.hold()['redemption_id']}/reject", {}, "hold"),
        OWNER_A,
    ),
    "/api/v1/cards/<card_id>/refund": (
        "POST",
        lambda w: (
            f"/api/v1/cards/{(c := w.buy())['card_id']}/refund",
            {"reason": "moving"},
            f"/api/v1/cards/{c['card_id']}",
        ),
        OWNER_A,
    ),
    "/api/v1/cards/<card_id>/history": (
        "GET",
        lambda w: (f"/api/v1/cards/{w.card['card_id']}/history", None, None),
        row(
            {
                "consumer_a": 200,
                "consumer_b": 404,
                "merchant_x": 200,
                "merchant_y": 404,
                "regulator": 200,
            },
            403,
        ),
    ),
    "/api/v1/cards/<card_id>/refund-quote": (
        "GET",
        lambda w: (f"/api/v1/cards/{w.card['card_id']}/refund-quote?rule=on_request", None, None),
        OWNER_A,
    ),
    "/api/v1/consumers/me/redemptions": (
        "GET",
        lambda w: ("/api/v1/consumers/me/redemptions?status=all", None, None),
        ANY_CONSUMER,
    ),
    "/api/v1/redemptions/<redemption_id>": (
        "GET",
        lambda w: (f"/api/v1/redemptions/{w.hold()['redemption_id']}", None, None),
        row(
            {"consumer_a": 200, "consumer_b": 404, "merchant_x": 200, "merchant_y": 404},
            403,
        ),
    ),
    "/api/v1/merchants/<merchant_id>/counter/lookup": (
        "POST",
        lambda w: (
            f"/api/v1/merchants/{w.x}/counter/lookup",
            {"card_code": w.card_code()},
            f"/api/v1/cards/{w.card['card_id']}",
        ),
        MERCHANT_X,
    ),
    "/api/v1/merchants/<merchant_id>/cards": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/cards", None, None),
        MERCHANT_X_OR_REGULATOR,
    ),
    "/api/v1/merchants/<merchant_id>/redemptions": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/redemptions?status=pending", None, None),
        MERCHANT_X_OR_REGULATOR,
    ),
    "/api/v1/merchants/<merchant_id>/stats/daily": (
        "GET",
        lambda w: (
            f"/api/v1/merchants/{w.x}/stats/daily?from={in_future(-7)[:10]}&to={in_future(0)[:10]}",
            None,
            None,
        ),
        MERCHANT_X_OR_REGULATOR,
    ),
    "/api/v1/complaints": (
        "POST",
        lambda w: (
            "/api/v1/complaints",
            {
                "merchant_id": w.x,
                "card_id": w.card["card_id"],
                "category": "quality",
                "text": "cold",
            },
            None,
        ),
        row({"consumer_a": 201, "consumer_b": 404}, 403),
    ),
    "/api/v1/complaints/<complaint_id>": (
        "GET",
        lambda w: (f"/api/v1/complaints/{w.filed}", None, None),
        row(
            {
                "consumer_a": 200,
                "consumer_b": 404,
                "merchant_x": 200,
                "merchant_y": 404,
                "regulator": 200,
            },
            403,
        ),
    ),
    "/api/v1/complaints/<complaint_id>/response": (
        "POST",
        lambda w: (
            f"/api/v1/complaints/{(c := w.complaint())}/response",
            {"response": "sorry"},
            f"complaint:{c}",
        ),
        MERCHANT_X,
    ),
    "/api/v1/complaints/<complaint_id>/resolve": (
        "POST",
        lambda w: (f"/api/v1/complaints/{(c := w.complaint())}/resolve", {}, f"complaint:{c}"),
        row({"consumer_a": 200, "consumer_b": 404, "regulator": 200}, 403),
    ),
    "/api/v1/complaints/<complaint_id>/escalate": (
        "POST",
        lambda w: (
            f"/api/v1/complaints/{(c := w.complaint())}/escalate",
            {"outcome": "no answer"},
            f"complaint:{c}",
        ),
        OWNER_A,
    ),
    "/api/v1/complaints/<complaint_id>/unfounded": (
        "POST",
        lambda w: (
            f"/api/v1/complaints/{(c := w.complaint())}/unfounded",
            {"note": "no grounds"},
            f"complaint:{c}",
        ),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/complaints": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/complaints", None, None),
        MERCHANT_X_OR_REGULATOR,
    ),
    "/api/v1/consumers/me/complaints": (
        "GET",
        lambda w: ("/api/v1/consumers/me/complaints", None, None),
        ANY_CONSUMER,
    ),
    "/api/v1/redemptions/<redemption_id>/rating": (
        "POST",
        lambda w: (
            f"/api/v1/redemptions/{w.learnt_spend()}/rating",
            {"stars": 4, "text": "good"},
            f"/api/v1/merchants/{w.x}/ratings",
        ),
        row({"consumer_a": 201, "consumer_b": 404}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/ratings": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/ratings", None, None),
        PUBLIC,
    ),
    "/api/v1/merchants/<merchant_id>/health": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/health", None, None),
        PUBLIC,
    ),
    # X has complaints by now, so it is not green: the allowed callers get 422, not a report.
    "/api/v1/merchants/<merchant_id>/credit-report": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/credit-report", None, None),
        row({"merchant_x": 422, "merchant_y": 404, "regulator": 422, "bank": 422}, 403),
    ),
    "/api/v1/alerts": (
        "GET",
        lambda w: ("/api/v1/alerts", None, None),
        row({"regulator": 200}, 403),
    ),
    # The city's figures and the public lists (issue 13).
    "/api/v1/stats/city": (
        "GET",
        lambda w: ("/api/v1/stats/city?by=industry", None, None),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/health/history": (
        "GET",
        lambda w: (
            f"/api/v1/merchants/{w.x}/health/history?from=2026-01-01&to=2026-01-02",
            None,
            None,
        ),
        MERCHANT_X_OR_REGULATOR,
    ),
    "/api/v1/lists/red-black": (
        "GET",
        lambda w: ("/api/v1/lists/red-black", None, None),
        PUBLIC,
    ),
    "/api/v1/lists/watch": (
        "GET",
        lambda w: ("/api/v1/lists/watch?code=yellow&department=sports", None, None),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/alerts/<alert_id>/acknowledge": (
        "POST",
        lambda w: (f"/api/v1/alerts/{(a := w.alert())}/acknowledge", {}, f"alert:{a}"),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/alerts/<alert_id>/assign": (
        "POST",
        lambda w: (
            f"/api/v1/alerts/{(a := w.alert())}/assign",
            {"assignee": "reg-li"},
            f"alert:{a}",
        ),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/alerts/<alert_id>/verify": (
        "POST",
        lambda w: (
            f"/api/v1/alerts/{(a := w.alert(acknowledged=True))}/verify",
            {"note": "visited", "evidence_sha256": "ab" * 32},
            f"alert:{a}",
        ),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/alerts/<alert_id>/resolve": (
        "POST",
        lambda w: (
            f"/api/v1/alerts/{(a := w.alert(acknowledged=True))}/resolve",
            {"disposition": "verified_ok", "note": "fine"},
            f"alert:{a}",
        ),
        row({"regulator": 200}, 403),
    ),
    # No clock file here: even an operator finds no demo clock to move.
    "/api/v1/demo/clock": (
        "POST",
        lambda w: ("/api/v1/demo/clock", {"days": 1}, None),
        row({"operator": 404}, 403),
    ),
    "/api/v1/refunds/overdue": (
        "GET",
        lambda w: ("/api/v1/refunds/overdue", None, None),
        row({"regulator": 200, "bank": 200}, 403),
    ),
    # The daily reconciliation's reports. Nothing is reconciled in this world (its days have
    # not ended): the allowed callers reach the escrow and hear 404 not_reconciled.
    "/api/v1/reconciliation": (
        "GET",
        lambda w: ("/api/v1/reconciliation", None, None),
        row({"regulator": 200, "bank": 200}, 403),
    ),
    "/api/v1/reconciliation/<date>": (
        "GET",
        lambda w: ("/api/v1/reconciliation/2000-01-01", None, None),
        row({"regulator": 404, "bank": 404}, 403),
    ),
    "/api/v1/keys": ("GET", lambda w: ("/api/v1/keys", None, None), PUBLIC),
    "/api/v1/ledger/checkpoint": (
        "GET",
        lambda w: ("/api/v1/ledger/checkpoint", None, None),
        PUBLIC,
    ),
    "/api/v1/ledger/consistency": (
        "GET",
        lambda w: ("/api/v1/ledger/consistency?first=1&second=2", None, None),
        PUBLIC,
    ),
    "/api/v1/ledger/entries": (
        "GET",
        lambda w: ("/api/v1/ledger/entries?start=0&end=2", None, None),
        row({"regulator": 200, "bank": 200}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/ledger": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/ledger?limit=5", None, None),
        {**MERCHANT_X, "regulator": 200, "bank": 200},
    ),
    "/api/v1/ledger/receipts/<event_id>": (
        "GET",
        lambda w: (f"/api/v1/ledger/receipts/{w.receipt_event}", None, None),
        row(
            {
                "consumer_a": 200,
                "consumer_b": 404,
                "merchant_x": 200,
                "merchant_y": 404,
                "regulator": 200,
                "bank": 200,
                "operator": 404,
            },
            404,
        ),
    ),
    # Inspections (issue 14). The visits' steps are tried on an inspection nobody has: who may
    # act reaches the service and hears 404; the real objects are driven through them in
    # tests/gateway/test_inspections_e2e.py.
    "/api/v1/inspection/plans": (
        "POST",
        lambda w: (
            "/api/v1/inspection/plans",
            {"department": "sports", "period": "2026Q4", "kind": "special", "reason": "专项"},
            None,
        ),
        row({"regulator": 201}, 403),
    ),
    "/api/v1/inspection/plans#GET": (
        "GET",
        lambda w: ("/api/v1/inspection/plans?department=sports", None, None),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/inspection/plans/<plan_id>": (
        "GET",
        lambda w: (f"/api/v1/inspection/plans/{w.plan_id}", None, None),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/inspection/plans/<plan_id>/draw": (
        "POST",
        lambda w: (f"/api/v1/inspection/plans/{w.plan_id}/draw", {}, None),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/inspection/inspectors": (
        "POST",
        lambda w: (
            "/api/v1/inspection/inspectors",
            {"inspector_id": "ins-9", "department": "sports", "conflicts": [w.y]},
            None,
        ),
        row({"regulator": 200}, 403),
    ),
    "/api/v1/inspection/inspectors#GET": (
        "GET",
        lambda w: ("/api/v1/inspection/inspectors?department=sports", None, None),
        row({"regulator": 200}, 403),
    ),
    # A fresh merchant is not tier A: the regulator is let in and refused (422 not_tier_a).
    "/api/v1/merchants/<merchant_id>/inspection/white-list": (
        "POST",
        lambda w: (
            f"/api/v1/merchants/{w.x}/inspection/white-list",
            {"white_listed": True, "reason": "good record"},
            f"/api/v1/merchants/{w.x}",
        ),
        row({"regulator": 422}, 403),
    ),
    "/api/v1/merchants/<merchant_id>/inspection-code": (
        "GET",
        lambda w: (f"/api/v1/merchants/{w.x}/inspection-code", None, None),
        MERCHANT_X,
    ),
    "/api/v1/inspections": (
        "GET",
        lambda w: (f"/api/v1/inspections?merchant_id={w.x}", None, None),
        MERCHANT_X_OR_REGULATOR,
    ),
    "/api/v1/inspections/public": (
        "GET",
        lambda w: (f"/api/v1/inspections/public?merchant_id={w.x}", None, None),
        PUBLIC,
    ),
    "/api/v1/inspections/<inspection_id>": (
        "GET",
        lambda w: ("/api/v1/inspections/i-nobodys", None, None),
        row({"merchant_x": 404, "merchant_y": 404, "regulator": 404, "inspector": 404}, 403),
    ),
    "/api/v1/inspections/<inspection_id>/check-in": (
        "POST",
        lambda w: ("/api/v1/inspections/i-nobodys/check-in", {"merchant_code": "x"}, None),
        row({"inspector": 404}, 403),
    ),
    "/api/v1/inspections/<inspection_id>/result": (
        "POST",
        lambda w: ("/api/v1/inspections/i-nobodys/result", {"finding": "none"}, None),
        row({"inspector": 404}, 403),
    ),
    "/api/v1/inspections/<inspection_id>/rectification": (
        "POST",
        lambda w: (
            "/api/v1/inspections/i-nobodys/rectification",
            {"evidence_sha256": w.evidence, "note": "done"},
            None,
        ),
        row({"merchant_x": 404, "merchant_y": 404}, 403),
    ),
    "/api/v1/inspections/<inspection_id>/accept": (
        "POST",
        lambda w: ("/api/v1/inspections/i-nobodys/accept", {}, None),
        row({"regulator": 404}, 403),
    ),
    "/api/v1/stats/inspections": (
        "GET",
        lambda w: ("/api/v1/stats/inspections?year=2026", None, None),
        row({"regulator": 200}, 403),
    ),
    # Each upload is a new file; the download is merchant X's own upload, which no inspection
    # of the inspector's names.
    "/api/v1/evidence/<sha256>#PUT": (
        "PUT",
        lambda w: (
            f"/api/v1/evidence/{hashlib.sha256(d := f'photo {next(KEYS)}'.encode()).hexdigest()}",
            d,
            None,
        ),
        row({"merchant_x": 201, "merchant_y": 201, "regulator": 201, "inspector": 201}, 403),
    ),
    "/api/v1/evidence/<sha256>": (
        "GET",
        lambda w: (f"/api/v1/evidence/{w.evidence}", None, None),
        row({"merchant_x": 200, "merchant_y": 404, "regulator": 200, "inspector": 404}, 403),
    ),
    # Last: the consumers erase their own personal data, which no row after could use.
    "/api/v1/consumers/me": (
        "DELETE",
        lambda w: ("/api/v1/consumers/me", None, None),
        ANY_CONSUMER,
    ),
}
# Logout revokes each principal's token, so its row runs after every other one.
TABLE["/api/v1/auth/logout"] = ("POST", lambda w: ("/api/v1/auth/logout", {}, None), row({}, 200))


@pytest.fixture
def world(tmp_path, amqp_uri):
    escrow_store = store_url(tmp_path, "escrow")
    # Consumer A files a complaint against X for many cells: lift the per-merchant limit.
    policy = tmp_path / "policy.toml"
    policy.write_text(
        Path(DEFAULT_FILE)
        .read_text()
        .replace(
            "complaint_limit_per_consumer_per_merchant = 3",
            "complaint_limit_per_consumer_per_merchant = 1000",
        )
    )
    processes = [
        start_service("merchant", tmp_path, amqp_uri),
        start_service("escrow", tmp_path, amqp_uri),
        start_service("risk", tmp_path, amqp_uri, POLICY_FILE=str(policy)),
        start_nameko(
            "ledger.service:LedgerService",
            {"AMQP_URI": amqp_uri, "LEDGER_DIR": str(tmp_path / "ledger")},
            tmp_path,
        ),
        start_relay("escrow", escrow_store, amqp_uri, tmp_path),
        start_service("inspection", tmp_path, amqp_uri),
        start_relay("inspection", store_url(tmp_path, "inspection"), amqp_uri, tmp_path),
    ]
    app = None
    try:
        # Who may do what, not how often: one consumer buys and complains for every probe, and
        # the readiness poll signs in ten times a second (finding 5's test covers the limits).
        app = create_app(
            gateway_settings(
                tmp_path,
                amqp_uri,
                dev_login_rate_limit="100000 per minute",
                purchase_rate_limit="100000 per minute",
                complaint_rate_limit="100000 per minute",
            )
        )
        client = app.test_client()
        wait_until(lambda: _services_up(client), timeout=90, what="the services")
        built = World(client)
        built.receipt_event = built.confirmed_event()
        built.filed = built.complaint()
        built.evidence = _evidence(built)
        built.plan_id = built.post(
            "/api/v1/inspection/plans",
            {"department": "sports", "period": "2026Q3", "kind": "special", "reason": "专项"},
            "regulator",
        )["plan_id"]
        wait_until(
            lambda: (
                client.post(
                    f"/api/v1/inspection/plans/{built.plan_id}/draw",
                    json={},
                    headers={**built.headers["regulator"], "Idempotency-Key": f"w-{next(KEYS)}"},
                ).status_code
                == 200
            ),
            timeout=60,
            what="the plan's commitment in the ledger",
        )
        wait_until(
            lambda: (
                client.get(
                    f"/api/v1/ledger/receipts/{built.receipt_event}",
                    headers=built.headers["regulator"],
                ).status_code
                == 200
            ),
            timeout=60,
            what="the receipt of a confirmation",
        )
        yield built
    finally:  # the services are stopped even when the app itself fails to build
        if app is not None:
            app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)


def _evidence(world) -> str:
    photo = b"merchant X's rectification photo"
    sha = hashlib.sha256(photo).hexdigest()
    stored = world.client.put(
        f"/api/v1/evidence/{sha}", data=photo, headers=world.headers["merchant_x"]
    )
    assert stored.status_code == 201, stored.get_json()
    return sha


def _services_up(client) -> bool:
    return (
        client.get("/api/v1/merchants").status_code == 200
        and client.get(
            "/api/v1/consumers/me/cards", headers=auth(client, "consumer", "p")
        ).status_code
        == 200
        and client.get("/api/v1/alerts", headers=auth(client, "regulator", "r")).status_code == 200
        and client.get("/api/v1/ledger/consistency?first=0&second=0").status_code != 503
        and client.get("/api/v1/inspections/public?merchant_id=m").status_code == 200
    )


def _routes(app) -> set[str]:
    found = set()
    for rule in app.url_map.iter_rules():
        # The HTML pages and their static files are not API routes: they hold no object and
        # answer anyone alike; tests/pages covers them.
        if rule.endpoint == "static" or is_page_route(rule):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method == "PUT":
                found.add(f"{rule.rule}#PUT")
                continue
            found.add(
                rule.rule
                if method == "POST" or rule.rule not in _posted(app)
                else f"{rule.rule}#GET"
            )
    return found


def _posted(app) -> set[str]:
    return {r.rule for r in app.url_map.iter_rules() if "POST" in r.methods}


def _private(world) -> list[str]:
    return [
        world.card["card_id"],
        world.card["payment"]["payment_id"],
        "c-a",
        "13812345678",
        '"deposited"',
        '"escrow_held"',
        '"contact_phone"',
    ]


def test_every_route_for_every_principal(world):
    client = world.client
    assert set(TABLE) == _routes(client.application), "every route has a row, and no more"
    wrong = []
    for route, (method, make, expected) in TABLE.items():
        if expected is None:
            wrong += _probe_cells(client, world, route)
            continue
        for who in WHO:
            url, body, probe = make(world)
            before = _state(client, world, probe)
            headers = {**world.headers[who], "Idempotency-Key": f"cell-{next(KEYS)}"}
            if method == "POST":
                answer = client.post(url, json=body, headers=headers)
            elif method == "PUT":
                answer = client.put(url, data=body, headers=headers)
            else:
                answer = client.open(url, method=method, headers=headers)
            status = answer.status_code
            if status != expected[who]:
                wrong.append(
                    f"{method} {route} as {who}: {status}, expected {expected[who]} "
                    f"{answer.get_data(as_text=True)[:200]}"
                )
                continue
            if status >= 400:
                error = (answer.get_json() or {}).get("error", {})
                text = answer.get_data(as_text=True)
                if not (error.get("code") and error.get("message")):
                    wrong.append(f"{method} {route} as {who}: not the error shape: {text}")
                # What the caller sent may be echoed; nothing else of the object.
                sent = url + (body.decode() if isinstance(body, bytes) else json.dumps(body))
                leaked = [
                    secret for secret in _private(world) if secret in text and secret not in sent
                ]
                if leaked:
                    wrong.append(f"{method} {route} as {who}: leaks {leaked}")
                if _state(client, world, probe) != before:
                    wrong.append(f"{method} {route} as {who}: refused, yet state changed")
    assert not wrong, f"{len(wrong)} wrong cells:\n" + "\n".join(wrong)


PROBE_FIELDS = {
    "/livez": {"status", "problems"},
    "/readyz": {"status", "problems"},
    "/healthz": {"status", "mode", "problems", "dependencies"},
}
"""The operators' probes: public, answering everyone alike with a status and what is down."""


def _probe_cells(client, world, route) -> list[str]:
    wrong = []
    for who in WHO:
        answer = client.get(route, headers=world.headers[who])
        body = answer.get_json() or {}
        text = answer.get_data(as_text=True)
        allowed = {200, 503} if route != "/livez" else {200}
        if answer.status_code not in allowed or set(body) != PROBE_FIELDS[route]:
            wrong.append(f"GET {route} as {who}: {answer.status_code} {text[:200]}")
        if body.get("status") not in {"ok", "degraded", "failing", "unavailable"}:
            wrong.append(f"GET {route} as {who}: status {body.get('status')!r}")
        if leaked := [secret for secret in _private(world) if secret in text]:
            wrong.append(f"GET {route} as {who}: leaks {leaked}")
    return wrong


def test_metrics_are_not_served_on_the_api_port(world):
    """`/metrics` is on the operations port (METRICS_PORT), never where the API is."""
    for who in WHO:
        answer = world.client.get("/metrics", headers=world.headers[who])
        assert answer.status_code == 404, (who, answer.status_code)
        assert "prepaid_http_requests" not in answer.get_data(as_text=True)


def _state(client, world, probe):
    if probe is None:
        return None
    if probe.startswith(("complaint:", "alert:")):
        kind, _, key = probe.partition(":")
        path = {"complaint": "/api/v1/complaints/", "alert": "/api/v1/alerts?status=any"}[kind]
        answer = client.get(
            path + (key if kind == "complaint" else ""), headers=world.headers["regulator"]
        ).get_json()
        return (
            answer if kind == "complaint" else [a for a in answer["items"] if a["alert_id"] == key]
        )
    if probe == "hold":
        cards = client.get("/api/v1/consumers/me/cards", headers=world.headers["consumer_a"])
        return sorted(
            (c["card_id"], c["released_amount"], c["status"]) for c in cards.get_json()["items"]
        )
    headers = world.headers["regulator" if probe.startswith("/api/v1/cards") else "anonymous"]
    return client.get(probe, headers=headers).get_json()
