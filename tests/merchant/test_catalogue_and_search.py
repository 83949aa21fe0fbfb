"""A merchant's products on sale, retiring one, and the directory's search by name, through
the gateway and real merchant and escrow services on RabbitMQ."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.gateway import auth
from tests.support.harness import merchant_and_escrow_gateway
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker

SV = {
    "type": "stored_value",
    "name": "1000+100",
    "price": 1_000,
    "bonus": 100,
    "validity_days": 365,
}
COUNT = {"type": "count", "name": "10 swims", "price": 2_000, "uses": 10, "validity_days": 180}


@pytest.fixture(scope="module")
def client(tmp_path_factory, rabbit_node):
    """One platform for the module: starting two services takes most of a test's time."""
    vhost = f"t-{uuid.uuid4().hex[:12]}"
    amqp_uri = rabbit_node.add_vhost(vhost)
    with merchant_and_escrow_gateway(tmp_path_factory.mktemp("catalogue"), amqp_uri) as client:
        yield client
    rabbit_node.ctl("delete_vhost", vhost)


def _create(client, merchant_id, body):
    made = client.post(
        f"/api/v1/merchants/{merchant_id}/products",
        json=body,
        headers=auth(client, "merchant", merchant_id),
    )
    assert made.status_code == 201, made.get_json()
    return made.get_json()["product_id"]


def _retire(client, merchant_id, product_id, who=None, **headers):
    return client.post(
        f"/api/v1/merchants/{merchant_id}/products/{product_id}/retire",
        headers={**auth(client, "merchant", who or merchant_id), **headers},
    )


def test_products_on_sale_show_a_running_promotion_and_page(client):
    shop = onboard(client, name="Swim Club")
    stored, count = _create(client, shop, SV), _create(client, shop, COUNT)
    now = datetime.now(UTC)
    promotion = client.post(
        f"/api/v1/merchants/{shop}/promotions",
        json={
            "product_id": stored,
            "name": "Spring",
            "bonus": 150,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=3)).isoformat(),
        },
        headers=auth(client, "merchant", shop),
    ).get_json()

    listed = client.get(f"/api/v1/merchants/{shop}/products")  # public: no token
    assert listed.status_code == 200
    items = {p["product_id"]: p for p in listed.get_json()["items"]}
    assert list(items) == [stored, count], "oldest first"
    assert items[stored]["bonus"] == 150 and items[stored]["regular_bonus"] == 100
    assert items[stored]["promotion"]["promotion_id"] == promotion["promotion_id"]
    assert items[count]["promotion"] is None and items[count]["retired_at"] is None
    assert items[count]["uses"] == 10 and items[count]["price"] == 2_000

    first = client.get(f"/api/v1/merchants/{shop}/products?limit=1").get_json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get(
        f"/api/v1/merchants/{shop}/products?limit=1&cursor={first['next_cursor']}"
    ).get_json()
    assert second["next_cursor"] is None
    assert [first["items"][0]["product_id"], second["items"][0]["product_id"]] == [stored, count]
    other_list = client.get(f"/api/v1/merchants/{shop}/promotions").get_json()
    assert (
        client.get(
            f"/api/v1/merchants/{shop}/products?cursor={first['next_cursor']}&include_retired=true"
        ).status_code
        == 400
    ), "a cursor belongs to its own list and filter"
    assert other_list["items"], "the promotion is listed on its own list as before"
    assert client.get("/api/v1/merchants/m-nope/products").status_code == 404
    assert client.get(f"/api/v1/merchants/{shop}/products?limit=0").status_code == 400


def test_a_retired_product_sells_no_card_and_retiring_is_idempotent(client):
    shop = onboard(client, name="Gym Retiring")
    product = _create(client, shop, SV)
    consumer = auth(client, "consumer", "c-retire")
    bought = client.post("/api/v1/cards", json={"product_id": product}, headers=consumer)
    assert bought.status_code == 201, bought.get_json()

    first = _retire(client, shop, product)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == "retired" and body["product_id"] == product
    again = _retire(client, shop, product)
    assert again.status_code == 200 and again.get_json() == body, "the same answer"

    refused = client.post("/api/v1/cards", json={"product_id": product}, headers=consumer)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "product_retired"

    on_sale = client.get(f"/api/v1/merchants/{shop}/products").get_json()["items"]
    assert product not in {p["product_id"] for p in on_sale}
    everything = client.get(f"/api/v1/merchants/{shop}/products?include_retired=true").get_json()
    assert [p["retired_at"] for p in everything["items"]] == [body["retired_at"]]
    card = client.get(f"/api/v1/cards/{bought.get_json()['card_id']}", headers=consumer)
    assert card.get_json()["status"] == "active", "a card sold before keeps working"


def test_retiring_someone_elses_product_is_404_and_changes_nothing(client):
    shop, rival = onboard(client, name="Owner"), onboard(client, name="Rival")
    product = _create(client, shop, COUNT)
    as_rival = _retire(client, shop, product, who=rival)
    assert as_rival.status_code == 404, "another merchant's list is hidden"
    via_own_id = _retire(client, rival, product)
    assert via_own_id.status_code == 404, "a product of another merchant is unknown here"
    assert _retire(client, shop, "p-nope").status_code == 404
    consumer = auth(client, "consumer", "c-x")
    forbidden = client.post(f"/api/v1/merchants/{shop}/products/{product}/retire", headers=consumer)
    assert forbidden.status_code == 403
    with_body = client.post(
        f"/api/v1/merchants/{shop}/products/{product}/retire",
        json={"now": True},
        headers=auth(client, "merchant", shop),
    )
    assert with_body.status_code == 400
    listed = client.get(f"/api/v1/merchants/{shop}/products").get_json()["items"]
    assert [p["product_id"] for p in listed] == [product], "still on sale"


def test_retire_replays_with_its_idempotency_key(client):
    shop = onboard(client, name="Replay")
    product = _create(client, shop, SV)
    first = _retire(client, shop, product, **{"Idempotency-Key": "retire-1"})
    replay = _retire(client, shop, product, **{"Idempotency-Key": "retire-1"})
    assert first.status_code == replay.status_code == 200
    assert first.get_json() == replay.get_json()


def test_directory_search_by_part_of_the_name(client):
    tea = onboard(client, name="威海茶楼 Sea View TEA House", industry="catering")
    noodles = onboard(client, name="刘家面馆", industry="catering")
    gym = onboard(client, name="Harbour Gym", industry="fitness")

    def found(query):
        answer = client.get("/api/v1/merchants", query_string=query)
        assert answer.status_code == 200, answer.get_json()
        return [m["merchant_id"] for m in answer.get_json()["items"]]

    assert found({"q": "茶楼"}) == [tea]
    assert found({"q": "tea house"}) == [tea], "Latin letters match in any case"
    assert found({"q": "ＴＥＡ"}) == [tea], "full-width Latin too"
    assert found({"q": "面馆", "industry": "catering"}) == [noodles]
    assert found({"q": "面馆", "industry": "fitness"}) == []
    assert found({"q": "harbour"}) == [gym]
    assert found({"q": "no such shop"}) == []
    assert set(found({"q": ""})) >= {tea, noodles, gym}, "an empty q filters nothing"

    first = client.get("/api/v1/merchants", query_string={"q": "a", "limit": 1}).get_json()
    assert first["next_cursor"], "three names hold an a"
    rest = client.get(
        "/api/v1/merchants", query_string={"q": "a", "limit": 500, "cursor": first["next_cursor"]}
    ).get_json()
    paged = [m["merchant_id"] for m in first["items"] + rest["items"]]
    assert set(paged) >= {tea, gym} and len(paged) == len(set(paged))
    assert rest["next_cursor"] is None
    other_filter = client.get(
        "/api/v1/merchants", query_string={"q": "b", "cursor": first["next_cursor"]}
    )
    assert other_filter.status_code == 400
    assert other_filter.get_json()["error"]["code"] == "invalid_cursor"

    too_long = client.get("/api/v1/merchants", query_string={"q": "茶" * 41})
    assert too_long.status_code == 400
    assert client.get("/api/v1/merchants", query_string={"q": "茶" * 40}).status_code == 200
