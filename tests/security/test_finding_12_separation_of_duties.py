"""Finding 12: separation of duties.

The same USCC could be registered any number of times, an operator could apply for a merchant
and approve that application alone, and one regulator could declare a default (refunding every
open card and ending the merchant) alone.

Now a USCC belongs to at most one live merchant (pending, active, warned or delisted; closed
and defaulted merchants free it), claimed through a stream per USCC so two racing applications
cannot both win; an operator's own application needs another operator's approval; and a
default is a proposal by one regulator (202) that a different regulator confirms.
"""

from __future__ import annotations

import threading

import pytest

from eventstore.factory import open_store
from eventstore.postgres import PostgresEventStore
from privacy import Vault
from services.domain_errors import Conflict
from services.merchant.application import commands, projections
from tests.support.gateway import auth
from tests.support.harness import (
    merchant_and_escrow_gateway,
    store_url,
)
from tests.support.merchants import application, fresh_uscc, onboard

COUNT_CARD = {
    "type": "count",
    "name": "10 lessons",
    "price": 80_000,
    "uses": 10,
    "validity_days": 180,
}


@pytest.fixture
def client(tmp_path, amqp_uri):
    with merchant_and_escrow_gateway(tmp_path, amqp_uri) as client:
        yield client


def _error(response) -> str:
    return response.get_json()["error"]["code"]


@pytest.mark.broker
def test_a_uscc_belongs_to_one_live_merchant_and_is_freed_by_a_default(client):
    uscc = fresh_uscc()
    first = onboard(client, uscc=uscc)
    for who in (auth(client, "operator", "op-9"), auth(client, "merchant", "applicant-2")):
        again = client.post("/api/v1/merchants", json=application(uscc=uscc), headers=who)
        assert again.status_code == 409, again.get_json()
        assert _error(again) == "uscc_taken"
    lower = client.post(
        "/api/v1/merchants",
        json=application(uscc=uscc.lower()),
        headers=auth(client, "operator", "op-9"),
    )
    assert lower.status_code == 409, "the same code in lower case is the same code"

    url = f"/api/v1/merchants/{first}/default"
    body = {"reason": "the owner vanished"}
    assert (
        client.post(url, json=body, headers=auth(client, "regulator", "reg-1")).status_code == 202
    )
    assert (
        client.post(url, json=body, headers=auth(client, "regulator", "reg-2")).status_code == 200
    )
    reborn = client.post(
        "/api/v1/merchants", json=application(uscc=uscc), headers=auth(client, "operator", "op-9")
    )
    assert reborn.status_code == 201, "a defaulted merchant's code is free again"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_racing_applications_with_one_uscc_exactly_one_wins(tmp_path, request, backend):
    if backend == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'merchant.db'}")
    else:
        store = PostgresEventStore(request.getfixturevalue("pg_dsn"), schema="merchant")
    vault = Vault(tmp_path / "vault.db")
    rounds, racers = 15, 6
    try:
        for _ in range(rounds):
            uscc, barrier, outcomes = fresh_uscc(), threading.Barrier(racers), []

            def race(i: int, uscc=uscc, barrier=barrier, outcomes=outcomes) -> None:
                fields = application(uscc=uscc)
                barrier.wait()
                try:
                    outcomes.append(
                        commands.apply_for_merchant(
                            **fields, applied_by=f"operator:op-{i}", store=store, vault=vault
                        )
                    )
                except Conflict as exc:
                    outcomes.append(exc.code)

            threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            won = [o for o in outcomes if isinstance(o, dict)]
            assert len(won) == 1, outcomes
            assert sorted(o for o in outcomes if not isinstance(o, dict)) == ["uscc_taken"] * (
                racers - 1
            )
            # The losers left nothing behind: one merchant card holds the code.
            holders = [
                card
                for _, card in store.list_views(projections.DIRECTORY, "", 500)
                if card["uscc"] == uscc
            ]
            assert [h["merchant_id"] for h in holders] == [won[0]["merchant_id"]]
    finally:
        store.close()
        vault.close()


@pytest.mark.broker
def test_an_operators_own_application_needs_another_operator(client):
    maker, checker = auth(client, "operator", "op-1"), auth(client, "operator", "op-2")
    created = client.post(
        "/api/v1/merchants", json=application(uscc=fresh_uscc()), headers=maker
    ).get_json()
    url = f"/api/v1/merchants/{created['merchant_id']}/approve"
    alone = client.post(url, headers=maker)
    assert alone.status_code == 422, alone.get_json()
    assert _error(alone) == "second_operator_required"
    assert (
        client.get(f"/api/v1/merchants/{created['merchant_id']}").get_json()["status"] == "pending"
    )
    assert client.post(url, headers=checker).get_json()["status"] == "active"

    # A merchant's own application has its checker in whichever operator approves it.
    applied = client.post(
        "/api/v1/merchants",
        json=application(uscc=fresh_uscc()),
        headers=auth(client, "merchant", "applicant-1"),
    ).get_json()
    assert (
        client.post(
            f"/api/v1/merchants/{applied['merchant_id']}/approve", headers=maker
        ).get_json()["status"]
        == "active"
    )


@pytest.mark.broker
def test_a_default_is_proposed_by_one_regulator_and_confirmed_by_another(client, tmp_path):
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products", json=COUNT_CARD, headers=merchant
    ).get_json()
    owners = []
    for i in range(3):
        owner = auth(client, "consumer", f"c-{i}")
        owners.append(
            (
                owner,
                client.post(
                    "/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner
                ).get_json()["card_id"],
            )
        )
    url = f"/api/v1/merchants/{merchant_id}/default"
    body = {"reason": "the shop closed and the owner vanished"}
    maker, checker = auth(client, "regulator", "reg-1"), auth(client, "regulator", "reg-2")

    proposed = client.post(url, json=body, headers=maker)
    assert proposed.status_code == 202, proposed.get_json()
    pending = proposed.get_json()
    assert (
        pending["status"] == "default_proposed"
        and pending["proposed_by"] == "regulator:reg-1"
        and pending["reason"] == body["reason"]
        and pending["proposed_at"]
    )
    assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["status"] == "active"
    for owner, card_id in owners:
        assert (
            client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()["status"] == "active"
        ), "nothing is refunded on one regulator's word"

    alone = client.post(url, json=body, headers=maker)
    assert alone.status_code == 422, alone.get_json()
    assert _error(alone) == "second_regulator_required"
    assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["status"] == "active"

    confirmed = client.post(url, json={"reason": "confirmed on site"}, headers=checker)
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json() == {"cards_refunded": 3, "amount_refunded": 3 * 80_000}
    assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["status"] == "defaulted"
    for owner, card_id in owners:
        assert (
            client.get(f"/api/v1/cards/{card_id}", headers=owner).get_json()["status"] == "refunded"
        )
    # Asking again (a retry after a timeout) resumes the refund and changes nothing.
    assert client.post(url, json=body, headers=maker).get_json() == confirmed.get_json()

    # Each step is an event that records who and when.
    store = open_store(store_url(tmp_path, "merchant"))
    try:
        steps = {r.type: r.data for r in store.read_stream(f"merchant-{merchant_id}")}
    finally:
        store.close()
    assert steps["merchant.DefaultProposed.v1"]["proposed_by"] == "regulator:reg-1"
    assert steps["merchant.DefaultProposed.v1"]["proposed_at"]
    assert steps["merchant.DefaultConfirmed.v1"]["confirmed_by"] == "regulator:reg-2"
    assert steps["merchant.DefaultConfirmed.v1"]["confirmed_at"]
    assert steps["merchant.MerchantStatusChanged.v1"]["status"] == "defaulted"


@pytest.mark.broker
def test_the_status_call_cannot_skip_the_second_regulator(client, amqp_uri):
    from nameko.standalone.rpc import ClusterRpcProxy

    merchant_id = onboard(client)
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20) as rpc:
        with pytest.raises(Exception) as refused:
            rpc.merchant.change_status(merchant_id, "defaulted", "alone", "regulator:reg-1")
    assert "default_needs_confirmation" in str(refused.value)
    assert client.get(f"/api/v1/merchants/{merchant_id}").get_json()["status"] == "active"
