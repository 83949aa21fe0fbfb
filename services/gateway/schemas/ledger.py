from marshmallow import fields, validate, validates_schema

from services.gateway.schemas import Money, StrictSchema, ValidationError

MAX_PAGE = 500


class Signature(StrictSchema):
    signer = fields.String(required=True)
    key_id = fields.String(required=True, metadata={"description": "4-byte key id, hex"})
    sig = fields.String(required=True, metadata={"description": "base64 signature"})


class CheckpointResponse(StrictSchema):
    origin = fields.String(required=True)
    size = fields.Integer(required=True)
    root_hash = fields.String(required=True, metadata={"description": "lowercase hex SHA-256"})
    signatures = fields.List(fields.Nested(Signature), required=True)
    note = fields.String(required=True, metadata={"description": "C2SP signed note"})


class EntriesQuery(StrictSchema):
    start = fields.Integer(required=True, validate=validate.Range(min=0))
    end = fields.Integer(required=True, validate=validate.Range(min=1))

    @validates_schema
    def _range(self, data, **_):
        if data["end"] <= data["start"]:
            raise ValidationError("end must be greater than start", "end")
        if data["end"] - data["start"] > MAX_PAGE:
            raise ValidationError(f"at most {MAX_PAGE} entries per request", "end")


class LedgerEntry(StrictSchema):
    index = fields.Integer(required=True)
    entry = fields.String(required=True, metadata={"description": "base64 canonical bytes"})


class EntriesResponse(StrictSchema):
    items = fields.List(fields.Nested(LedgerEntry), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class MerchantLedgerItem(StrictSchema):
    index = fields.Integer(required=True, metadata={"description": "the entry's index"})
    event_id = fields.String(required=True, metadata={"description": "its receipt's key"})
    type = fields.String(required=True, metadata={"description": "e.g. escrow.CardRefunded.v1"})
    at = fields.String(required=True, metadata={"description": "the event's time, RFC 3339"})
    amount = Money(
        metadata={
            "description": "fen: the entry's amount, released_amount, refund_amount or price, "
            "the first it holds; absent when it holds none"
        }
    )


class MerchantLedgerPage(StrictSchema):
    items = fields.List(fields.Nested(MerchantLedgerItem), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ReceiptResponse(StrictSchema):
    index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    leaf_hash = fields.String(required=True)
    entry = fields.String(required=True)
    inclusion_proof = fields.List(fields.String(), required=True)
    checkpoint = fields.Nested(CheckpointResponse, required=True)


class ConsistencyQuery(StrictSchema):
    first = fields.Integer(required=True, validate=validate.Range(min=1))
    second = fields.Integer(required=True, validate=validate.Range(min=1))

    @validates_schema
    def _order(self, data, **_):
        if data["first"] > data["second"]:
            raise ValidationError("first must not exceed second", "first")


class ConsistencyResponse(StrictSchema):
    proof = fields.List(fields.String(), required=True)


class LogKey(StrictSchema):
    origin = fields.String(required=True, metadata={"description": "the checkpoints' origin line"})
    vkey = fields.String(
        required=True, metadata={"description": "c2sp.org/signed-note verifier key (Ed25519)"}
    )


class WitnessKey(StrictSchema):
    name = fields.String(required=True)
    vkey = fields.String(
        required=True,
        metadata={"description": "c2sp.org/signed-note verifier key (cosignature/v1, type 0x04)"},
    )


class CreditReportKey(StrictSchema):
    alg = fields.String(required=True, metadata={"description": "Ed25519"})
    key_id = fields.String(required=True)
    public_key_b64 = fields.String(
        required=True, metadata={"description": "the raw 32-byte public key, base64"}
    )


class Keys(StrictSchema):
    log = fields.Nested(LogKey, required=True)
    witnesses = fields.List(fields.Nested(WitnessKey), required=True)
    quorum = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the witnesses that must cosign a published checkpoint"},
    )
    credit_report = fields.Nested(CreditReportKey, required=True)
