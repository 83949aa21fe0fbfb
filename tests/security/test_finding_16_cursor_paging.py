"""Finding 16: lists stopped silently at 500 (alerts, a consumer's cards, settlements,
promotions) with `next_cursor` always null, and the public directory sorted green first only
within each page.

Each list here holds more than 500 items, made cheaply through the services' application
layer on the very stores the running services use, and is then read through HTTP, the
gateway and the real services a page at a time: every item exactly once, in the list's
order, and `next_cursor` null only at the end. The directory is walked with merchants of all
three codes (and some not assessed yet): green, yellow, red, then unassessed, across pages.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from privacy import Vault
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands as escrow
from services.escrow.application import settlements
from services.gateway.app import create_app
from services.merchant.application import commands as merchants
from services.merchant.application import directory
from services.merchant.application import queries as merchant_queries
from services.merchant.domain.uscc import check_character
from services.risk.application import alerts as risk_alerts
from services.risk.application import commands as risk
from services.risk.domain.alerts import AlertRules
from services.risk.domain.health_code import RiskRules
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_relay, start_service, stop, store_url, wait_until
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker

POLICY = load_policy()
MANY = 530
"""More than the contract's largest page (500)."""


@pytest.fixture
def platform(tmp_path, amqp_uri):
    processes = [start_service(name, tmp_path, amqp_uri) for name in ("merchant", "escrow", "risk")]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    regulator = auth(client, "regulator", "r-1")
    wait_until(
        lambda: (
            client.get("/api/v1/merchants").status_code == 200
            and client.get("/api/v1/alerts", headers=regulator).status_code == 200
            and client.get(
                "/api/v1/consumers/me/cards", headers=auth(client, "consumer", "c-probe")
            ).status_code
            == 200
        ),
        timeout=90,
        what="the merchant, escrow and risk services",
    )
    stores = {
        name: SqliteEventStore(store_url(tmp_path, name)[len("sqlite:///") :])
        for name in ("merchant", "escrow", "risk")
    }
    yield client, stores
    for store in stores.values():
        store.close()
    app.config["RPC_POOL"].close()
    for process in processes:
        stop(process)


def walk(client, url: str, limit: int, headers=None, cursor=None) -> tuple[list, int]:
    """Every item of a list, page by page (from `cursor`); and how many pages it took."""
    items, pages = [], 0
    while True:
        joiner = "&" if "?" in url else "?"
        page_url = f"{url}{joiner}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(page_url, headers=headers or {})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["items"]) <= limit
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100, "the cursor does not move on"


def uscc(i: int) -> str:
    """A valid code of its own for each shop (codes are unique among live merchants)."""
    first17 = f"91350100M{i:08d}"
    return first17 + check_character(first17)


class MerchantPort:
    """The escrow's port to the merchant service, on the merchant service's real store."""

    def __init__(self, store):
        self.store = store

    def product_for_sale(self, product_id):
        return merchant_queries.product_for_sale(
            product_id, store=self.store, policy=POLICY, now=datetime.now(UTC)
        )


def new_merchant(store, vault, i: int, industry: str = "retail") -> str:
    merchant_id = merchants.apply_for_merchant(
        name=f"Shop {i}",
        uscc=uscc(i),
        industry=industry,
        address="1 Road",
        contact_phone="13800000000",
        applied_by="operator:op-1",
        store=store,
        vault=vault,
        new_id=lambda: f"m-{i:05d}",
    )["merchant_id"]
    merchants.approve_merchant(merchant_id, "operator:op-2", store=store)  # maker-checker
    return merchant_id


class NoStatusChanges:
    """The risk service's Merchants port, where no step changes a merchant's status."""

    def change_status(self, merchant_id: str, status: str, reason: str, changed_by: str) -> dict:
        raise AssertionError("acknowledging an alert changes no merchant's status")


def test_alerts_are_paged_oldest_first_with_their_status_filter(platform):
    client, stores = platform
    t0 = datetime.now(UTC) - timedelta(days=2)
    rules = RiskRules.from_policy(POLICY.risk)
    with stores["risk"].unit_of_work() as uow:
        for i in range(MANY):  # a listed debtor is a hard flag: red, and an alert, at once
            risk.observe_event(
                uow,
                "merchant.MerchantFlagSet.v1",
                {"merchant_id": f"m-{i:05d}", "flag": "dishonest_debtor", "on": True},
                (t0 + timedelta(minutes=i)).isoformat(),
                rules=rules,
            )
    everything = risk_alerts.queue(
        store=stores["risk"], now=t0, rules=AlertRules(), limit=MANY + 1
    )["items"]
    assert len(everything) == MANY
    expected = [a["alert_id"] for a in sorted(everything, key=lambda a: a["opened_at"])]
    acknowledged = expected[::3]
    for alert_id in acknowledged:
        risk.alert_step(
            alert_id,
            "acknowledged",
            by="regulator:r-1",
            store=stores["risk"],
            merchants=NoStatusChanges(),
            now=t0 + timedelta(days=1),
        )
    regulator = auth(client, "regulator", "r-1")

    items, pages = walk(client, "/api/v1/alerts?status=any", 200, regulator)
    assert [a["alert_id"] for a in items] == expected and pages == 3
    first = client.get("/api/v1/alerts?status=any", headers=regulator).get_json()
    assert len(first["items"]) == 100 and first["next_cursor"], "100 a page by default"

    items, _ = walk(client, "/api/v1/alerts?status=acknowledged", 40, regulator)
    assert [a["alert_id"] for a in items] == acknowledged
    items, _ = walk(client, "/api/v1/alerts", 500, regulator)
    assert [a["alert_id"] for a in items] == [a for a in expected if a not in acknowledged]


def test_a_consumers_cards_are_all_listed(platform, tmp_path):
    client, stores = platform
    vault = Vault(tmp_path / "merchant-vault.db")
    merchant_id = new_merchant(stores["merchant"], vault, 1)
    vault.close()
    product = merchants.create_product(
        merchant_id,
        {"type": "stored_value", "name": "small", "price": 100, "bonus": 0, "validity_days": 365},
        store=stores["merchant"],
        policy=POLICY,
    )

    bank, port = SimulatedBank(tmp_path / "setup-bank"), MerchantPort(stores["merchant"])
    bought = {"c-1": [], "c-2": []}
    for i in range(MANY + 6):
        consumer = "c-2" if i % 100 == 7 else "c-1"  # another's cards, interleaved
        bought[consumer].append(
            escrow.purchase_card(
                consumer,
                product["product_id"],
                store=stores["escrow"],
                merchants=port,
                bank=bank,
                policy=POLICY,
                now=datetime.now(UTC),
            )["card_id"]
        )

    items, pages = walk(client, "/api/v1/consumers/me/cards", 500, auth(client, "consumer", "c-1"))
    assert [c["card_id"] for c in items] == sorted(bought["c-1"]) and pages == 2
    assert len(items) == MANY and all(c["status"] == "active" for c in items)
    items, pages = walk(client, "/api/v1/consumers/me/cards", 2, auth(client, "consumer", "c-2"))
    assert [c["card_id"] for c in items] == sorted(bought["c-2"]) and pages == 3


def test_settlements_are_all_listed_oldest_first(platform, tmp_path):
    client, stores = platform
    store, bank = stores["escrow"], SimulatedBank(tmp_path / "setup-bank")
    vault = Vault(tmp_path / "merchant-vault.db")
    merchant_id = new_merchant(stores["merchant"], vault, 2)
    vault.close()
    product = merchants.create_product(
        merchant_id,
        {
            "type": "stored_value",
            "name": "coffee",
            "price": 100_000,
            "bonus": 0,
            "validity_days": 1000,
        },
        store=stores["merchant"],
        policy=POLICY,
    )
    # Days to come: the running escrow service's own sweep (real time) would expire a hold
    # dated in the past between its request and its confirmation.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    card_id = escrow.purchase_card(
        "c-1",
        product["product_id"],
        store=store,
        bank=bank,
        policy=POLICY,
        now=start,
        merchants=MerchantPort(stores["merchant"]),
    )["card_id"]
    payouts = []
    for day in range(MANY - 20):  # one coffee a day, paid out the next day
        at = start + timedelta(days=day)
        hold = escrow.request_redemption(
            card_id, merchant_id, value=100, uses=0, store=store, policy=POLICY, now=at
        )
        escrow.confirm_redemption(hold["redemption_id"], "c-1", store=store, now=at)
        payouts += settlements.settle(
            store=store, bank=bank, policy=POLICY, now=at + timedelta(days=1)
        )
    # The list must hold every payout recorded (the running escrow service settles the same
    # store, though none of these days is due yet by its clock).
    recorded = [
        r.data["payout_id"]
        for r in store.read_stream(f"payouts-{merchant_id}")
        if r.type == "escrow.PayoutMade.v1"
    ]
    assert len(recorded) == MANY - 20 > 500 and set(recorded) >= {p["payout_id"] for p in payouts}

    items, pages = walk(
        client,
        f"/api/v1/merchants/{merchant_id}/settlements",
        200,
        auth(client, "merchant", merchant_id),
    )
    assert [p["payout_id"] for p in items] == recorded
    assert pages == 3 and sum(p["amount"] for p in items) == 100 * len(recorded)


def test_promotions_are_all_listed_and_ended_ones_skipped_across_pages(platform, tmp_path):
    client, stores = platform
    vault = Vault(tmp_path / "merchant-vault.db")
    merchant_id = new_merchant(stores["merchant"], vault, 3)
    vault.close()
    product = merchants.create_product(
        merchant_id,
        {
            "type": "stored_value",
            "name": "card",
            "price": 100_000,
            "bonus": 0,
            "validity_days": 365,
        },
        store=stores["merchant"],
        policy=POLICY,
    )
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(days=30)
    created = []
    for i in range(MANY):  # back to back, a day each; the first 30 have ended by now
        starts = first + timedelta(days=i)
        created.append(
            merchants.create_promotion(
                merchant_id,
                {
                    "product_id": product["product_id"],
                    "name": f"week {i}",
                    "bonus": 1_000,
                    "starts_at": starts.isoformat(),
                    "ends_at": (starts + timedelta(days=1)).isoformat(),
                },
                "merchant:" + merchant_id,
                store=stores["merchant"],
                policy=POLICY,
                now=starts - timedelta(hours=1),
            )["promotion_id"]
        )

    url = f"/api/v1/merchants/{merchant_id}/promotions"
    items, pages = walk(client, url, 100)
    assert [p["promotion_id"] for p in items] == created[30:] and pages == 5
    items, pages = walk(client, url + "?include_ended=true", 500)
    assert [p["promotion_id"] for p in items] == created and pages == 2


def test_the_directory_is_green_first_across_pages(platform, tmp_path):
    client, stores = platform
    store, vault = stores["merchant"], Vault(tmp_path / "merchant-vault.db")
    codes = {}
    for i in range(MANY):
        merchant_id = new_merchant(store, vault, i, ("education", "fitness", "retail")[i % 3])
        code = ("red", "green", "yellow", "green", None)[i * 7 % 5]
        if code:
            with store.unit_of_work() as uow:  # what the risk service's event says
                directory.record_health(
                    uow,
                    {
                        "merchant_id": merchant_id,
                        "code": code,
                        "reasons": [],
                        "evaluated_at": datetime.now(UTC).isoformat(),
                    },
                )
        codes[merchant_id] = code
    hidden = merchants.apply_for_merchant(  # pending: never listed
        name="Pending",
        uscc=uscc(99_999),
        industry="retail",
        address="1 Road",
        contact_phone="13800000000",
        applied_by="operator:op-1",
        store=store,
        vault=vault,
        new_id=lambda: "m-00000x",
    )["merchant_id"]
    rank = {"green": 0, "yellow": 1, "red": 2, None: 3}
    expected = sorted(codes, key=lambda m: (rank[codes[m]], m))
    assert {codes[m] for m in expected} == {"green", "yellow", "red", None}

    items, pages = walk(client, "/api/v1/merchants", 100)
    assert [m["merchant_id"] for m in items] == expected and pages == 6
    assert [m["health_code"] for m in items] == [codes[m] for m in expected]
    assert hidden not in {m["merchant_id"] for m in items}

    items, _ = walk(client, "/api/v1/merchants?health_code=yellow", 30)
    assert [m["merchant_id"] for m in items] == [m for m in expected if codes[m] == "yellow"]
    items, _ = walk(client, "/api/v1/merchants?industry=education", 70)
    assert [m["merchant_id"] for m in items] == [m for m in expected if int(m[2:]) % 3 == 0]

    # Keyset, not offsets: after a first page, a merchant already read is delisted and one
    # not read yet turns green (moving behind the reader): the rest of the walk neither
    # skips nor repeats anyone; and one delisted ahead of the reader simply is not read.
    page = client.get("/api/v1/merchants?limit=200").get_json()
    read, moved, ahead = (
        expected[10],
        next(m for m in expected[212:] if m < expected[199]),
        expected[250],
    )
    assert codes[expected[199]] == "green" and codes[moved] != "green"
    with store.unit_of_work() as uow:
        directory.record_health(
            uow,
            {
                "merchant_id": moved,
                "code": "green",
                "reasons": [],
                "evaluated_at": datetime.now(UTC).isoformat(),
            },
        )
    for merchant_id in (read, ahead):
        merchants.change_status(merchant_id, "delisted", "still red", "regulator:r-1", store=store)
    vault.close()
    rest, _ = walk(client, "/api/v1/merchants", 200, cursor=page["next_cursor"])
    assert [m["merchant_id"] for m in page["items"] + rest] == [
        m for m in expected if m not in (moved, ahead)
    ]


def test_codes_reach_the_directory_through_the_broker(tmp_path, amqp_uri):
    """The order follows the risk service's code changes, published and consumed."""
    processes = [start_service(name, tmp_path, amqp_uri) for name in ("merchant", "risk")]
    processes += [
        start_relay(name, store_url(tmp_path, name), amqp_uri, tmp_path)
        for name in ("merchant", "risk")
    ]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    try:
        wait_until(
            lambda: client.get("/api/v1/merchants").status_code == 200,
            timeout=90,
            what="the merchant service",
        )
        shops = [onboard(client, name=f"Shop {i}", uscc=uscc(i)) for i in range(3)]
        listed = lambda: [
            (m["merchant_id"], m["health_code"])  # noqa: E731
            for m in client.get("/api/v1/merchants").get_json()["items"]
        ]
        wait_until(
            lambda: {code for _, code in listed()} == {"green"},
            timeout=60,
            what="the first assessments",
        )
        debtor = min(shops)
        assert (
            client.post(
                f"/api/v1/merchants/{debtor}/flags",
                json={"flag": "dishonest_debtor", "on": True, "source": "court list"},
                headers=auth(client, "regulator", "r-1"),
            ).status_code
            == 200
        )
        wait_until(
            lambda: listed()[-1] == (debtor, "red"),
            timeout=60,
            what="the red code in the directory",
        )
        assert [m for m, _ in listed()] == sorted(set(shops) - {debtor}) + [debtor]
        assert (
            client.get("/api/v1/merchants?health_code=red")
            .get_json()["items"][0]["public_warning"]
            .startswith("red prepaid health code")
        )
    finally:
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)


def test_a_cursor_that_is_not_this_lists_gets_400(platform):
    client, _ = platform
    consumer, regulator = auth(client, "consumer", "c-1"), auth(client, "regulator", "r-1")
    cursors = [
        "!!!",
        "not%20base64",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b'{"after": "x"}').decode(),
        base64.urlsafe_b64encode(b'["alerts/open", "x"]').decode(),  # another list's
        base64.urlsafe_b64encode(b'["directory//", ""]').decode(),
    ]
    for cursor in cursors:
        for url, headers in [
            ("/api/v1/merchants", {}),
            ("/api/v1/consumers/me/cards", consumer),
            ("/api/v1/alerts?status=any", regulator),
            ("/api/v1/merchants/m-1/promotions", {}),
        ]:
            response = client.get(
                f"{url}{'&' if '?' in url else '?'}cursor={cursor}", headers=headers
            )
            assert response.status_code == 400, (url, cursor, response.get_json())
            assert response.get_json()["error"]["code"] == "invalid_cursor"
    assert client.get(f"/api/v1/merchants?cursor={'A' * 2000}").status_code == 400
    for limit in (0, 501, -1):
        assert client.get(f"/api/v1/merchants?limit={limit}").status_code == 400


@pytest.mark.postgres
def test_postgres_pages_views_in_byte_order_whatever_the_databases_collation(pg_cluster):
    """Keyset pages need keys in byte order. On a database whose collation ignores
    punctuation (as glibc's en_US does, the default of most PostgreSQL images; here ICU
    en-US with punctuation shifted, since this box has no en_US locale), "m-10/b" sorts between
    "m-1/a" and "m-1/c", and a merchant's list stopped at another merchant's key."""
    import psycopg

    from eventstore.postgres import PostgresEventStore
    from services.paging import keyset_page

    name = f"t_icu_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
            "ICU_LOCALE 'en-US-u-ka-shifted' LOCALE 'C'"
        )
    store = PostgresEventStore(pg_cluster.dsn(name), schema="escrow")
    try:
        with store.unit_of_work() as uow:
            for key in ("m-1/a", "m-10/b", "m-1/c", "m-2/d"):
                uow.put_view("payouts", key, {"key": key})
        page = keyset_page(store.list_views, "payouts", "m-1/", "", 10)
        assert [key for key, _ in page["rows"]] == ["a", "c"]
        assert [key for key, _ in store.list_views("payouts", "", 10)] == [
            "m-1/a",
            "m-1/c",
            "m-10/b",
            "m-2/d",
        ]
    finally:
        store.close()
