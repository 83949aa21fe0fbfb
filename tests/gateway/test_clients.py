"""The typed service clients: each method reaches an RPC the service really has, with
arguments its signature accepts, and every failure of every call becomes the contract's error
by the one table in services/gateway/remote.py."""

from __future__ import annotations

import inspect
from contextlib import contextmanager

import pytest
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from ledger.service import LedgerService
from services.escrow.service import EscrowService
from services.gateway.clients import Clients
from services.gateway.errors import ApiError
from services.gateway.remote import RemoteCaller
from services.gateway.rpc_pool import RpcPoolExhausted
from services.inspection.service import InspectionService
from services.merchant.service import MerchantService
from services.remote_errors import ServiceError
from services.risk.service import RiskService

SERVICES = {
    "merchant": MerchantService,
    "escrow": EscrowService,
    "risk": RiskService,
    "ledger": LedgerService,
    "inspection": InspectionService,
}


class Recorder:
    """A proxy pool whose proxies record each call and answer `answer`, or raise `fails`."""

    def __init__(self, fails: BaseException | None = None):
        self.calls: list[tuple[str, str, tuple, dict]] = []
        self.fails = fails

    @contextmanager
    def proxy(self):
        yield self

    def __getitem__(self, service):
        recorder = self

        class Service:
            def __getattr__(self, method):
                def call(*args, **kwargs):
                    recorder.calls.append((service, method, args, kwargs))
                    if recorder.fails is not None:
                        raise recorder.fails
                    return {"answered": method}

                return call

        return Service()


def _dummy(parameter: inspect.Parameter):
    annotation = str(parameter.annotation)
    if "int" in annotation:
        return 1
    if "bool" in annotation:
        return True
    if "list" in annotation:
        return ["x"]
    if "dict" in annotation or "Json" in annotation or "Metadata" in annotation:
        return {"k": "v"}
    return "x"


def _client_methods(clients: Clients):
    for name in SERVICES:
        client = getattr(clients, name)
        for method_name, method in inspect.getmembers(client, inspect.ismethod):
            if not method_name.startswith("_"):
                yield name, method_name, method


def test_every_client_method_calls_an_rpc_the_service_has_with_arguments_it_takes():
    pool = Recorder()
    clients = Clients.over(RemoteCaller(pool))
    checked = 0
    for service, name, method in _client_methods(clients):
        parameters = inspect.signature(method).parameters.values()
        method(*(_dummy(p) for p in parameters))
        called_service, rpc, args, kwargs = pool.calls[-1]
        assert called_service == service, name
        target = getattr(SERVICES[service], rpc, None)
        assert target is not None, f"{service} has no RPC {rpc} (client method {name})"
        inspect.signature(target).bind(None, *args, **kwargs)  # raises TypeError if not
        checked += 1
    assert checked >= 35


def test_alert_steps_name_their_step_and_pass_their_fields_by_name():
    pool = Recorder()
    risk = Clients.over(RemoteCaller(pool)).risk
    risk.resolve_alert("a-1", "regulator:r", "public_warning", "why", {"actor": "r"}, "sports")
    assert pool.calls[-1] == (
        "risk",
        "alert_step",
        ("a-1", "resolved", "regulator:r"),
        {
            "metadata": {"actor": "r"},
            "disposition": "public_warning",
            "note": "why",
            "department": "sports",
        },
    )


def test_erasure_asks_every_holder_of_the_persons_keys_through_the_same_wrapper():
    pool = Recorder()
    Clients.over(RemoteCaller(pool)).forget("consumer", "c-1")
    assert pool.calls == [("risk", "forget", ("c-1",), {})]
    with pytest.raises(ApiError) as refused:
        Clients.over(RemoteCaller(Recorder(fails=RpcTimeout()))).forget("consumer", "c-1")
    assert refused.value.status == 503


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (ServiceError("invalid_input", "bad_amount", "no"), 400, "bad_amount"),
        (ServiceError("not_found", "not_found", "no card"), 404, "not_found"),
        (ServiceError("conflict", "card_closed", "closed"), 409, "card_closed"),
        (
            ServiceError("business_rule", "insufficient_balance", "short"),
            422,
            "insufficient_balance",
        ),
        (ServiceError("surprise", "odd", "odd"), 500, "odd"),
        (RemoteError("ValueError", "bad"), 400, "invalid_input"),
        (RemoteError("NotFound", "gone"), 404, "not_found"),
        (RemoteError("ConcurrencyError", "raced"), 409, "conflict"),
        (RemoteError("BusinessRuleViolation", "no"), 422, "business_rule_violated"),
        (RemoteError("KeyError", "'x'"), 500, "internal_error"),
        (UnknownService("escrow"), 503, "service_unavailable"),
        (RpcTimeout(), 503, "service_unavailable"),
        (RpcPoolExhausted("busy"), 503, "service_unavailable"),
        (ConnectionError("refused"), 503, "service_unavailable"),
    ],
)
def test_every_client_method_fails_by_the_one_error_table(failure, status, code):
    clients = Clients.over(RemoteCaller(Recorder(fails=failure)))
    for service, name, method in _client_methods(clients):
        parameters = inspect.signature(method).parameters.values()
        with pytest.raises(ApiError) as refused:
            method(*(_dummy(p) for p in parameters))
        assert (refused.value.status, refused.value.code) == (status, code), (service, name)


def test_a_service_refusal_keeps_its_message_and_details():
    refusal = ServiceError("business_rule", "insufficient_balance", "short by 5", {"short": 5})
    escrow = Clients.over(RemoteCaller(Recorder(fails=refusal))).escrow
    with pytest.raises(ApiError) as refused:
        escrow.refund("card-1", "c-1", {})
    assert (refused.value.message, refused.value.details) == ("short by 5", {"short": 5})


def test_a_health_check_reports_a_service_that_does_not_answer_instead_of_raising():
    class Broken:
        @contextmanager
        def proxy(self):
            raise ConnectionError("broker down")
            yield

    report = RemoteCaller(Broken()).health(("escrow",))
    assert report == {
        "rabbitmq": {"status": "down", "error": "ConnectionError"},
        "escrow": {"status": "unknown", "error": "rabbitmq is down"},
    }
