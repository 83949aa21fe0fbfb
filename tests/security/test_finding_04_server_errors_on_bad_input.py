"""Finding 4: inputs that a client gets wrong answered 500 instead of a 400 with a code.

Deeply nested JSON (even anonymously) hit Python's JSON recursion limit; a lone surrogate
("\\ud800") in a text field passed validation and broke downstream, where the text is encoded
as UTF-8; a promotion ending in year 9999 overflowed a datetime; `ledger/entries?start=10**20`
overflowed SQLite's integer; a WeChat jscode2session answer that is a JSON list was read as an
object; a witness `old` line of 5,000 digits passed Python's int-from-string limit and came
back as an HTML 500. Each case runs against the real services it reaches.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledger.note import COSIGNATURE_V1, Checkpoint, Signer, sign_note
from ledger.witness import Witness, create_witness_app, format_submission
from services.gateway.app import create_app
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_nameko, start_service, stop, wait_until
from tests.support.logins import make_client
from tests.support.merchants import application, onboard

JSON = {"Content-Type": "application/json"}
LONE_SURROGATE = "\\ud800"  # as it appears in the JSON text: an escape no UTF-8 can carry
SV = {
    "type": "stored_value",
    "name": "100+10",
    "price": 10_000,
    "bonus": 1_000,
    "validity_days": 365,
}


@pytest.fixture(scope="module")
def client(tmp_path_factory, rabbit_node):
    """One platform for the module: each test makes its own merchants and callers."""
    tmp_path = tmp_path_factory.mktemp("platform")
    vhost = f"t-{uuid.uuid4().hex[:12]}"
    amqp_uri = rabbit_node.add_vhost(vhost)
    processes = [
        *(start_service(name, tmp_path, amqp_uri) for name in ("merchant", "escrow", "risk")),
        start_nameko(
            "ledger.service:LedgerService",
            {"AMQP_URI": amqp_uri, "LEDGER_DIR": str(tmp_path / "ledger")},
            tmp_path,
        ),
    ]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    try:
        consumer, regulator = auth(client, "consumer", "c-up"), auth(client, "regulator", "r")
        wait_until(
            lambda: (
                client.get("/api/v1/merchants").status_code == 200
                and client.get("/api/v1/consumers/me/cards", headers=consumer).status_code == 200
                and client.get("/api/v1/alerts", headers=regulator).status_code == 200
                and client.get(
                    "/api/v1/ledger/entries?start=0&end=1", headers=regulator
                ).status_code
                == 200
            ),
            timeout=90,
            what="the merchant, escrow, risk and ledger services",
        )
        yield client
    finally:
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)
        rabbit_node.ctl("delete_vhost", vhost)


def assert_clean_400(answer, code: str | None = None) -> dict:
    assert answer.status_code == 400, answer.get_data(as_text=True)[:500]
    error = answer.get_json()["error"]
    assert error["code"] and error["message"]
    if code:
        assert error["code"] == code, error
    return error


def nested(depth: int) -> str:
    # 10 KB: far below any body limit, far beyond Python's recursion limit of about 1,000.
    return "[" * depth + "]" * depth


@pytest.mark.broker
def test_deeply_nested_json_is_a_400_anonymously_and_with_a_token(client):
    for body in (nested(5_000), '{"a":' * 5_000 + "1" + "}" * 5_000):
        anonymous = client.post("/api/v1/auth/dev-login", data=body, headers=JSON)
        assert_clean_400(anonymous, "invalid_json")
        consumer = auth(client, "consumer", "c-deep")
        with_token = client.post("/api/v1/complaints", data=body, headers={**JSON, **consumer})
        assert_clean_400(with_token, "invalid_json")
        assert client.get("/api/v1/consumers/me/cards", headers=consumer).status_code == 200


def _raw(fields: dict, text_field: str) -> str:
    """`fields` as JSON text with a lone surrogate spliced into `text_field`'s value."""
    marker = "\u2603SNOWMAN\u2603"
    body = json.dumps({**fields, text_field: f"a{marker}b"}, ensure_ascii=True)
    return body.replace(json.dumps(marker)[1:-1], LONE_SURROGATE)


@pytest.mark.broker
def test_a_lone_surrogate_in_any_text_field_is_a_400_and_changes_nothing(client):
    operator = auth(client, "operator", "op-1")
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    consumer = auth(client, "consumer", "c-text")
    cases = [
        ("/api/v1/merchants", operator, application(), "name"),
        ("/api/v1/merchants", operator, application(), "address"),
        (f"/api/v1/merchants/{merchant_id}/products", merchant, SV, "name"),
        (
            "/api/v1/complaints",
            consumer,
            {"merchant_id": merchant_id, "category": "quality", "text": "x"},
            "text",
        ),
        ("/api/v1/auth/dev-login", {}, {"role": "consumer", "subject": "x"}, "subject"),
    ]
    directory = client.get("/api/v1/merchants").get_json()
    complaints = client.get(
        f"/api/v1/merchants/{merchant_id}/complaints", headers=merchant
    ).get_json()
    for url, headers, fields, text_field in cases:
        answer = client.post(url, data=_raw(fields, text_field), headers={**JSON, **headers})
        error = assert_clean_400(answer, "invalid_input")
        assert text_field in error["details"]["fields"], (url, error)
    assert client.get("/api/v1/merchants").get_json() == directory
    assert (
        client.get(f"/api/v1/merchants/{merchant_id}/complaints", headers=merchant).get_json()
        == complaints
    )
    # The same text without the surrogate is fine: the check is about encodable text only.
    fine = client.post(
        "/api/v1/complaints",
        headers=consumer,
        json={"merchant_id": merchant_id, "category": "quality", "text": "毛巾很脏 \U0001f9fa"},
    )
    assert fine.status_code == 201, fine.get_json()


@pytest.mark.broker
def test_a_promotion_in_year_9999_is_refused_cleanly(client):
    merchant_id = onboard(client)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products", json=SV, headers=merchant
    ).get_json()
    url = f"/api/v1/merchants/{merchant_id}/promotions"
    for starts, ends in [
        ("9999-12-24T00:00:00-05:00", "9999-12-31T00:00:00-05:00"),
        ("9999-12-24T00:00:00+00:00", "9999-12-31T23:59:59+00:00"),
        ("0001-01-01T00:00:00+08:00", "0001-01-05T00:00:00+08:00"),
    ]:
        answer = client.post(
            url,
            headers=merchant,
            json={
                "product_id": product["product_id"],
                "name": "Forever",
                "bonus": 100,
                "starts_at": starts,
                "ends_at": ends,
            },
        )
        error = assert_clean_400(answer, "invalid_input")
        assert set(error["details"]["fields"]) & {"starts_at", "ends_at"}, error
    assert client.get(url).get_json()["items"] == []
    soon = datetime.now(UTC) + timedelta(days=1)
    created = client.post(
        url,
        headers=merchant,
        json={
            "product_id": product["product_id"],
            "name": "Spring",
            "bonus": 100,
            "starts_at": soon.isoformat(),
            "ends_at": (soon + timedelta(days=7)).isoformat(),
        },
    )
    assert created.status_code == 201, created.get_json()


@pytest.mark.broker
def test_ledger_entries_beyond_any_index_is_a_400(client):
    regulator = auth(client, "regulator", "r-1")
    huge = 10**20
    for query in (f"start={huge}&end={huge + 1}", f"start=0&end={huge}", f"start={-huge}&end=1"):
        answer = client.get(f"/api/v1/ledger/entries?{query}", headers=regulator)
        assert_clean_400(answer, "invalid_input")
    assert client.get("/api/v1/ledger/consistency?first=1&second=" + str(huge)).status_code in (
        400,
        404,
    )


class ListAnswers(BaseHTTPRequestHandler):
    """A jscode2session that answers JSON that is not an object, or an openid that is not a
    string."""

    answers = {
        "list": [{"openid": "o-1"}],
        "number": 42,
        "null": None,
        "openid-number": {"openid": 12345},
        "errcode-text": {"errcode": "x"},
    }

    def do_GET(self):  # noqa: N802 (the http.server API)
        code = self.path.split("js_code=")[1].split("&")[0]
        payload = json.dumps(self.answers[code]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def odd_wechat():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ListAnswers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sns/jscode2session"
    server.shutdown()
    server.server_close()


def test_a_wechat_answer_that_is_not_an_object_is_a_502_with_a_code(tmp_path, odd_wechat):
    from services.gateway import signing_key

    signing_key.create(tmp_path / "jwt.pem", "production")
    client = make_client(tmp_path, odd_wechat)
    for code in ListAnswers.answers:
        answer = client.post("/api/v1/auth/consumer/login", json={"code": code})
        assert answer.status_code == 502, (code, answer.get_data(as_text=True)[:300])
        assert answer.get_json()["error"]["code"] == "login_provider_bad_answer"
        assert "Traceback" not in answer.get_data(as_text=True)


def test_a_witness_old_line_of_5000_digits_is_a_plain_400(tmp_path):
    log_key = Signer.generate("test.prepaid-trust.local/ledger")
    witness = Witness(
        Signer.generate("bank.test/witness", COSIGNATURE_V1),
        {log_key.name: log_key.verifier},
        tmp_path / "state.db",
    )
    try:
        http = create_witness_app(witness).test_client()
        note = sign_note(Checkpoint(log_key.name, 1, b"\0" * 32).body(), log_key)
        for old in ("9" * 5_000, "1" + "0" * 25):
            answer = http.post("/add-checkpoint", data=f"old {old}\n\n{note}")
            assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
            assert answer.content_type.startswith("text/plain")
            assert "<html" not in answer.get_data(as_text=True).lower()
        # Anything else the witness cannot answer is plain text too, never an HTML page.
        too_big = http.post("/add-checkpoint", data="x" * (65 * 1024))
        assert too_big.status_code == 413 and too_big.content_type.startswith("text/plain")
        assert http.get("/nowhere").content_type.startswith("text/plain")
        first = http.post("/add-checkpoint", data=format_submission(0, [], note))
        assert first.status_code == 200, first.get_data(as_text=True)
    finally:
        witness.close()
