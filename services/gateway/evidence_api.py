"""Evidence files (issue 14): `PUT /evidence/{sha256}` stores a rectification's photo or
document under the SHA-256 of its bytes, which the gateway checks; `GET` hands it back to
regulators, to a merchant or inspector that uploaded it, and to the inspectors assigned to
an inspection whose rectification names it (the inspection service knows which). The
services only ever see the fingerprint: the gateway keeps the bytes, in its PostgreSQL schema
when its state is there (services/gateway/evidence_pg.py, shared by every replica), else in
`GATEWAY_EVIDENCE_DIR` (services/gateway/evidence.py).

A PUT is idempotent by its nature, so it takes no Idempotency-Key: the same bytes again are
200 instead of 201, and change nothing.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, send_file

from services.gateway import access
from services.gateway.auth import require
from services.gateway.body_limits import body_limit
from services.gateway.clients import clients
from services.gateway.errors import ApiError
from services.gateway.evidence import SHA256_HEX, EvidenceEmpty, EvidenceMismatch, EvidenceStore
from services.gateway.evidence_pg import PostgresEvidenceStore, open_evidence_store
from services.gateway.openapi import operation
from services.gateway.request_context import actor, principal
from services.gateway.schemas.inspections import EvidenceStored

blueprint = Blueprint("evidence", __name__, url_prefix="/api/v1/evidence")


def store() -> EvidenceStore | PostgresEvidenceStore:
    found = current_app.config.get("EVIDENCE")
    if found is None:
        settings = current_app.config["SETTINGS"]
        state = current_app.config.get("STATE")
        found = current_app.config["EVIDENCE"] = open_evidence_store(
            settings.state_url, settings.evidence_dir, state.dbs if state else ()
        )
    return found


def _name(sha256: str) -> str:
    if not SHA256_HEX.fullmatch(sha256):
        raise ApiError(
            400, "invalid_evidence_name", "an evidence file is named by its SHA-256: 64 hex digits"
        )
    return sha256


@blueprint.put("/<sha256>")
@operation(
    "Upload an evidence file (raw bytes, at most the gateway's evidence limit, 5 MB by "
    "default) named by its SHA-256: 201 stored, 200 already there",
    tag="inspections",
    response=EvidenceStored,
    status=201,
    also={200: ("already stored: nothing changed", EvidenceStored)},
    errors=(400,),
    says={
        400: "invalid_evidence_name (not 64 lowercase hex digits), evidence_empty, "
        "evidence_hash_mismatch (the body's SHA-256 is another)"
    },
)
@require("merchant", "regulator", "inspector")
@body_limit(lambda settings: settings.max_evidence_body)
def put(sha256: str):
    sha256 = _name(sha256)
    try:
        created = store().put(sha256, request.stream, actor())
    except EvidenceEmpty:
        raise ApiError(400, "evidence_empty", "an evidence file has at least one byte") from None
    except EvidenceMismatch as exc:
        raise ApiError(
            400,
            "evidence_hash_mismatch",
            "the body is not the file its name claims",
            {"sha256": exc.actual},
        ) from None
    body = EvidenceStored().dump({"sha256": sha256, "created": created})
    return jsonify(body), 201 if created else 200


@blueprint.get("/<sha256>")
@operation(
    "Download an evidence file (regulators; a merchant or inspector that uploaded it; the "
    "inspectors of an inspection whose rectification names it)",
    tag="inspections",
    ok="the file's bytes (application/octet-stream)",
    errors=(400, 404),
)
@require("merchant", "regulator", "inspector")
def get(sha256: str):
    sha256 = _name(sha256)
    files = store()
    caller = principal()

    def assigned() -> set[str]:
        named = clients().inspection.evidence_inspections(sha256).get("items") or []
        return {inspector for item in named for inspector in item.get("inspectors") or ()}

    if not files.exists(sha256) or not access.may_read_evidence(
        caller, files.uploaders(sha256), assigned
    ):
        raise access.hidden(f"no evidence file {sha256}")
    answer = send_file(
        files.open(sha256),
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=sha256,
        max_age=0,
    )
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Cache-Control"] = "private, no-store"
    return answer
