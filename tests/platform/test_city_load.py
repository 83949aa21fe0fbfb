"""`make load`: the city's profile is scaled from 10,000 merchants, 1,000,000 consumers and
200 confirms/s; its consumers are derived from their number, never all held; and a small run
against a real platform confirms every visit it sends."""

from __future__ import annotations

import pytest

from platformrun.simulator import load
from platformrun.simulator.api import Api
from services.merchant.domain.uscc import check_character
from tests.support.gateway_process import kill, start_gateway
from tests.support.harness import start_service, stop


def test_the_city_at_full_size_and_scaled():
    full = load.Profile.scaled(1, seconds=60, regulars=1000, newcomers=0.05, seed=1)
    assert (full.merchants, full.consumers, full.rate) == (10_000, 1_000_000, 200)
    small = load.Profile.scaled(0.01, seconds=60, regulars=1000, newcomers=0.05, seed=1)
    assert (small.merchants, small.consumers, small.rate) == (100, 10_000, 2)
    given = load.Profile.scaled(0.01, rate=40, seconds=60, regulars=10, newcomers=0, seed=1)
    assert given.rate == 40 and given.merchants == 100


def test_shop_codes_are_valid_and_distinct_per_run():
    codes = {load.uscc(n, seed) for n in range(2000) for seed in (1, 2)}
    assert len(codes) == 4000
    assert all(code[17] == check_character(code[:17]) for code in codes)


def test_consumers_are_derived_from_their_number(tmp_path):
    city = load.CityLoad(
        Api("http://127.0.0.1:1"),
        load.Profile.scaled(1, seconds=1, regulars=1, newcomers=0, seed=3),
    )
    city.products = [(f"m-{i}", f"p-{i}") for i in range(10_000)]
    assert city.consumer_id(999_999) == "city-3-c999999"
    assert city.shop_of(123_456) == city.shop_of(123_456)
    shops = {city.shop_of(n) for n in range(0, 1_000_000, 97)}
    assert len(shops) > 9_000  # spread over (nearly) every merchant


@pytest.mark.broker
@pytest.mark.slow
def test_a_small_city_run_confirms_every_visit_and_holds_only_its_regulars(tmp_path, amqp_uri):
    services = [
        start_service("merchant", tmp_path, amqp_uri),
        start_service("escrow", tmp_path, amqp_uri),
    ]
    gateway, base = start_gateway(tmp_path, amqp_uri)
    try:
        profile = load.Profile(
            merchants=3,
            consumers=100_000,
            rate=5,
            seconds=4,
            regulars=8,
            newcomers=0.25,
            seed=11,
        )
        api = Api(base)
        city = load.CityLoad(api, profile, workers=8)
        city.seed()
        reached = city.peak()
        assert city.counts == {"confirmed": 20}, city.counts
        assert city.summary(reached)
        # Only the regulars are held, each with its own card; no consumer token is cached
        # by the client (1,000,000 would be): only the operators' and merchants'.
        assert len(city.regulars) == 8
        assert len({card for _, card, _, _ in city.regulars}) == 8
        assert {role for role, _ in api.tokens} == {"operator", "merchant"}
    finally:
        kill(gateway)
        for process in services:
            stop(process)


def test_workers_follow_the_rate_within_bounds():
    assert load.workers_for(2) == load.WORKERS_MIN
    assert load.workers_for(200) == 100
    assert load.workers_for(10_000) == load.WORKERS_MAX
    profile = load.Profile.scaled(1, seconds=1, regulars=1, newcomers=0, seed=1)
    assert load.CityLoad(Api("http://127.0.0.1:1"), profile).workers == 100
    assert load.CityLoad(Api("http://127.0.0.1:1"), profile, workers=3).workers == 3


def test_a_newcomer_is_never_a_consumer_already_signed_up_in_this_run():
    """Drawn twice, a consumer would buy a second card at its shop, which its cap there may
    refuse: the run would count a failure that is the driver's own doing."""
    profile = load.Profile(
        merchants=1, consumers=6, rate=1, seconds=1, regulars=2, newcomers=1.0, seed=5
    )
    city = load.CityLoad(Api("http://127.0.0.1:1"), profile)
    city.regulars = [("c", "card", 0, {})] * 2
    city.signed_up = {0, 1}  # the regulars seed() chose
    drawn = [city.draw()[0] for _ in range(10)]
    assert sorted(n for n in drawn[:4] if n is not None) == [2, 3, 4, 5]
    assert drawn[4:] == [None] * 6, "everyone has a card: regulars' visits only"


def test_the_client_speaks_https_too():
    import http.client

    api = Api("https://ingress.example")
    assert (api.connection_class, api.port) == (http.client.HTTPSConnection, 443)
    assert Api("http://127.0.0.1:8000").connection_class is http.client.HTTPConnection
    with pytest.raises(ValueError):
        Api("ftp://host")
