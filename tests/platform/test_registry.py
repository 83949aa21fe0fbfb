"""The composition's registry of services agrees with the names the gateway knows, and every
relay's default queues are those the platform's handlers consume."""

from __future__ import annotations

from messaging.topology import QueueBinding
from platformrun.registry import EVENT_SOURCED, SERVICE_CLASSES, bindings_of
from services.service_names import SERVICE_NAMES


def test_the_registry_runs_exactly_the_services_the_gateway_calls():
    assert tuple(SERVICE_CLASSES) == SERVICE_NAMES
    assert set(EVENT_SOURCED) <= set(SERVICE_NAMES)


def test_a_relay_declares_its_sources_handlers_and_the_ledgers_notary_queue():
    for service in EVENT_SOURCED:
        own = bindings_of(service)
        assert own and all(b.source_service == service for b in own)
        assert QueueBinding("ledger.notary", service, "#") in own
    # The risk service's handler of escrow's events, so a card bought before risk starts is
    # still assessed once it does.
    assert QueueBinding("evt-escrow-#--risk.on_escrow_event", "escrow", "#") in bindings_of(
        "escrow"
    )
