"""Who may see which object: every object-level rule of the gateway, in one place.

`@require` decides which roles may call a route at all; the rules here decide, for a caller
who may, whether this particular card, complaint, receipt or merchant-scoped list is theirs
to see. The policy for an object the caller may not see is stated once, in `hidden`: it is
404, word for word what an unknown id gets, never 403, so an answer does not tell "exists"
from "absent".
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from services.gateway.auth import Principal
from services.gateway.errors import ApiError

AUDITORS = ("regulator", "bank")
"""See every notarised event's receipt."""


def hidden(message: str) -> ApiError:
    """The answer for an object the caller may not see: the unknown id's answer."""
    return ApiError(404, "not_found", message)


def is_merchant_itself(caller: Principal | None, merchant_id: str) -> bool:
    return caller is not None and caller.role == "merchant" and caller.subject == merchant_id


def consumer_scope(caller: Principal) -> str | None:
    """The consumer whose objects a service should limit the answer to; None for a caller
    that is not a consumer (the service then applies no owner check)."""
    return caller.subject if caller.role == "consumer" else None


# --- merchant-scoped data ----------------------------------------------------------------


def only_itself(caller: Principal, merchant_id: str) -> None:
    """A merchant sees only its own merchant-scoped data (products, promotions it creates,
    stats, settlements, complaints, credit report); another's is hidden. Other roles the
    route admits see any merchant's."""
    if caller.role == "merchant" and caller.subject != merchant_id:
        raise hidden(f"no merchant {merchant_id}")


def sees_merchant_money(caller: Principal | None, merchant_id: str) -> bool:
    """The money figures of a merchant's health: regulators and the merchant itself; the
    rest of the health is public."""
    return caller is not None and (
        caller.role == "regulator" or is_merchant_itself(caller, merchant_id)
    )


# --- cards -------------------------------------------------------------------------------


def visible_card(caller: Principal, card_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """A card is seen by its consumer, its merchant and regulators."""
    if not (
        caller.role == "regulator"
        or caller.role == "consumer"
        and card["consumer_id"] == caller.subject
        or is_merchant_itself(caller, card["merchant_id"])
    ):
        raise hidden(f"no card {card_id}")
    return card


def owned_card(caller: Principal, card_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """A card only its consumer acts on (its refund quote): hidden from everyone else."""
    if card["consumer_id"] != caller.subject:
        raise hidden(f"no card {card_id}")
    return card


def visible_redemption(
    caller: Principal, redemption_id: str, redemption: dict[str, Any]
) -> dict[str, Any]:
    """A redemption request is seen by its card's consumer and its card's merchant."""
    if not (
        caller.role == "consumer"
        and redemption["consumer_id"] == caller.subject
        or is_merchant_itself(caller, redemption["merchant_id"])
    ):
        raise hidden(f"no redemption {redemption_id}")
    return redemption


def own_card_at(
    consumer_id: str, card_id: str, card: dict[str, Any], merchant_id: str
) -> dict[str, Any]:
    """A complaint may name only a card of the complaining consumer's, at the merchant the
    complaint is about."""
    if card["consumer_id"] != consumer_id or card["merchant_id"] != merchant_id:
        raise hidden(f"no card {card_id}")
    return card


# --- complaints --------------------------------------------------------------------------


def visible_complaint(
    caller: Principal, complaint_id: str, complaint: dict[str, Any]
) -> dict[str, Any]:
    """A complaint is seen by the consumer who filed it, the merchant it is about, and
    regulators."""
    if (
        caller.role == "consumer"
        and complaint["consumer_id"] != caller.subject
        or caller.role == "merchant"
        and complaint["merchant_id"] != caller.subject
    ):
        raise hidden(f"no complaint {complaint_id}")
    return complaint


# --- ledger receipts ---------------------------------------------------------------------


def visible_receipt(
    caller: Principal,
    found: dict[str, Any] | None,
    card_of: Callable[[str], dict[str, Any] | None],
) -> dict[str, Any]:
    """A receipt is seen by the event's parties (its consumer, matched by the ledger through
    the per-merchant pseudonym, and its merchant) and by auditors. A card's deposit, holds
    and releases name only the card, not its consumer: a consumer the entry does not name
    also sees the receipt of an event of a card they own, `card_of(card_id)` (None for no
    such card) asked only then. Someone who is not a party learns nothing, not even that the
    event exists. The answer drops the parties."""
    if found is None or not (
        caller.role in AUDITORS
        or is_merchant_itself(caller, found["parties"].get("merchant_id"))
        or caller.role == "consumer"
        and (found["consumer_is_party"] or _owns_named_card(caller, found["parties"], card_of))
    ):
        raise hidden("no notarised event with that id for you")
    return {k: v for k, v in found.items() if k not in ("parties", "consumer_is_party")}


def _owns_named_card(
    caller: Principal,
    parties: dict[str, Any],
    card_of: Callable[[str], dict[str, Any] | None],
) -> bool:
    card_id = parties.get("card_id")
    if not isinstance(card_id, str) or not card_id:
        return False
    card = card_of(card_id)
    return card is not None and card.get("consumer_id") == caller.subject


# --- inspections (issue 14) --------------------------------------------------------------


def visible_inspection(
    caller: Principal, inspection_id: str, inspection: dict[str, Any]
) -> dict[str, Any]:
    """An inspection is seen by regulators, by the inspectors it is assigned to, and by the
    merchant it inspects; an inspector sees no other inspector's inspections."""
    if caller.role == "regulator" or (
        caller.role == "inspector" and caller.subject in (inspection.get("inspectors") or ())
    ):
        return inspection
    if is_merchant_itself(caller, inspection.get("merchant_id", "")) and announced(inspection):
        return as_merchant_sees(inspection)
    raise hidden(f"no inspection {inspection_id}")


def announced(inspection: dict[str, Any]) -> bool:
    """A visit the merchant may know of: once an inspector checked in (one told beforehand
    who is coming, and when, is no random inspection); a data check once recorded."""
    # A visit nobody has checked in to; a failed data check (it raised a visit) until its
    # publication (a passed one is published at once).
    return inspection.get("status") not in ("planned", "drawn", "data_checked")


def as_merchant_sees(inspection: dict[str, Any]) -> dict[str, Any]:
    """The merchant's view: who was drawn stays with the regulators (those who came are in
    the check-ins)."""
    return {**inspection, "inspectors": []}


def sees_classification_reasons(caller: Principal | None, merchant_id: str) -> bool:
    """Why a merchant is in its inspection tier (the inputs, like the health code's reasons):
    regulators and the merchant itself; the public sees the tier without them."""
    return caller is not None and (
        caller.role == "regulator" or is_merchant_itself(caller, merchant_id)
    )


def may_read_evidence(
    caller: Principal, uploaders: set[str], assigned: Callable[[], Collection[str]]
) -> bool:
    """An evidence file is read by regulators; by a merchant or an inspector that uploaded it
    itself (`uploaders` holds `role:subject` of everyone who did); and by an inspector
    assigned to an inspection whose rectification names it (`assigned()`: those inspectors,
    asked only for an inspector)."""
    if caller.role == "regulator":
        return True
    if caller.role in ("merchant", "inspector") and f"{caller.role}:{caller.subject}" in uploaders:
        return True
    return caller.role == "inspector" and caller.subject in assigned()
