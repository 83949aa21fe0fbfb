"""The gateway's RPC proxy pool keeps its size whatever happens around a checkout."""

from __future__ import annotations

from messaging import logs
from services.gateway.rpc_pool import RpcProxyPool


class Runner:
    """A standalone proxy's runner without the worker context the pool writes the id into
    (a nameko whose internals moved): carrying the correlation id fails."""

    def stop(self) -> None:
        pass


def test_a_failing_correlation_id_carry_does_not_shrink_the_pool(monkeypatch):
    pool = RpcProxyPool("memory://", size=1, checkout_timeout=0.2)
    made = []

    def new_proxy():
        made.append(object())
        return Runner(), made[-1]

    monkeypatch.setattr(pool, "_new_proxy", new_proxy)
    token = logs.CORRELATION_ID.set("req-1")
    try:
        for _ in range(5):
            with pool.proxy() as proxy:
                assert proxy is made[0], "the one proxy, checked out again and again"
    finally:
        logs.CORRELATION_ID.reset(token)
    assert len(made) == 1 and pool._idle.qsize() == 1


def test_a_proxy_whose_connection_broke_is_replaced_and_a_refusal_keeps_it(monkeypatch):
    """A broken connection surfaces as whatever amqp or kombu raise (amqp's 404 on a reply
    queue whose node died, an AttributeError on a connection gone to None): the proxy is
    replaced. A service's own answer (a RemoteError) says nothing against the proxy."""
    import amqp.exceptions
    import pytest
    from nameko.exceptions import RemoteError

    pool = RpcProxyPool("memory://", size=1, checkout_timeout=0.2)
    made = []

    def new_proxy():
        made.append(object())
        return Runner(), made[-1]

    monkeypatch.setattr(pool, "_new_proxy", new_proxy)
    for broken in (amqp.exceptions.NotFound("home node is down"), AttributeError("drain_events")):
        with pytest.raises(type(broken)), pool.proxy():
            raise broken
    assert len(made) == 2, "each broken proxy replaced by a new one"
    with pytest.raises(RemoteError), pool.proxy() as proxy:
        raise RemoteError("ValidationError", "refused")
    with pool.proxy() as again:
        assert again is proxy, "a refusal leaves the proxy in the pool"
    assert len(made) == 3 and pool._idle.qsize() == 1


def test_a_services_domain_refusal_keeps_the_proxy(monkeypatch):
    """A service's refusal (a 4xx) arrives as the ServiceError nameko rebuilds, not as a
    RemoteError: it too is the service's answer, so the proxy stays in the pool."""
    import pytest

    from services.remote_errors import ServiceError

    pool = RpcProxyPool("memory://", size=1, checkout_timeout=0.2)
    made = []

    def new_proxy():
        made.append(object())
        return Runner(), made[-1]

    monkeypatch.setattr(pool, "_new_proxy", new_proxy)
    with pytest.raises(ServiceError), pool.proxy() as proxy:
        raise ServiceError("Conflict", "insufficient_balance", "refused")
    with pool.proxy() as again:
        assert again is proxy, "a domain refusal leaves the proxy in the pool"
    assert len(made) == 1 and pool._idle.qsize() == 1
