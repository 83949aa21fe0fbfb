"""The inspection edge (issue 14) over a scripted inspection service: the inspector role and
its department, input validation with clear codes, who sees which inspection, the merchant's
inspection tier on its page (absent-safe), and the evidence store. The real service behind it
is driven end to end in tests/gateway/test_inspections_e2e.py."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager

import jwt
import pytest
from nameko.exceptions import RpcTimeout

from services.gateway import credentials as creds
from services.gateway.app import create_app
from services.remote_errors import ServiceError
from tests.support.gateway import gateway_settings

CLASSIFICATION = {
    "risk_class": "II",
    "credit_grade": "A",
    "tier": "A",
    "white_listed": False,
    "quota_year": 1,
    "visits_this_year": 0,
    "reasons": [{"input": "liability_fen", "value": 1000}],
    "as_of": "2026-12-01T00:00:00+00:00",
}
INSPECTION = {
    "inspection_id": "i-1",
    "merchant_id": "m-1",
    "plan_id": "p-1",
    "mode": "visit",
    "inspectors": ["ins-a", "ins-b"],
    "status": "checked_in",
}
MERCHANT = {
    "merchant_id": "m-1",
    "name": "Shop",
    "industry": "fitness",
    "status": "active",
    "status_reason": None,
    "address": "Weihai",
    "contact_phone": "138****5678",
}


class Scripted:
    """A proxy pool whose services answer from `answers` (service.method -> value, callable
    or exception) and record each call."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.calls: list[tuple[str, tuple, dict]] = []

    @contextmanager
    def proxy(self):
        yield self

    def close(self):
        pass

    def __getitem__(self, service):
        pool = self

        class Service:
            def __getattr__(self, method):
                def call(*args, **kwargs):
                    name = f"{service}.{method}"
                    pool.calls.append((name, args, kwargs))
                    answer = pool.answers.get(name, {})
                    if isinstance(answer, BaseException):
                        raise answer
                    return answer(*args, **kwargs) if callable(answer) else answer

                return call

        return Service()

    def last(self, name: str) -> tuple[tuple, dict]:
        return next((a, k) for n, a, k in reversed(self.calls) if n == name)


@pytest.fixture
def pool():
    return Scripted(
        {
            "inspection.inspection": lambda inspection_id: {
                **INSPECTION,
                "inspection_id": inspection_id,
            },
            "inspection.classification": lambda merchant_id: dict(CLASSIFICATION),
            "inspection.inspections": {"items": [INSPECTION], "next_after": None},
            "inspection.published": {"items": [], "next_after": None},
            "merchant.get": lambda merchant_id, owner: {**MERCHANT, "merchant_id": merchant_id},
            "risk.codes": {},
            "risk.rating_summaries": {},
        }
    )


@pytest.fixture
def client(tmp_path, pool):
    app = create_app(
        gateway_settings(tmp_path, "amqp://unused", max_evidence_body=1024), rpc_pool=pool
    )
    return app.test_client()


KEYS = iter(range(10**6))


def login(client, role, subject, department=None):
    body = {"role": role, "subject": subject}
    if department:
        body["department"] = department
    answer = client.post("/api/v1/auth/dev-login", json=body)
    assert answer.status_code == 200, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def post(client, url, body, headers):
    return client.post(url, json=body, headers={**headers, "Idempotency-Key": f"k-{next(KEYS)}"})


# --- the inspector role ------------------------------------------------------------------


def test_an_inspector_logs_in_with_its_department_and_only_departments_are_known(client):
    answer = client.post(
        "/api/v1/auth/dev-login",
        json={"role": "inspector", "subject": "ins-a", "department": "sports"},
    )
    assert answer.status_code == 200 and answer.get_json()["department"] == "sports"
    claims = jwt.decode(answer.get_json()["token"], options={"verify_signature": False})
    assert (claims["role"], claims["dept"]) == ("inspector", "sports")
    for role, department in (("inspector", "police"), ("bank", "sports")):
        refused = client.post(
            "/api/v1/auth/dev-login",
            json={"role": role, "subject": "x", "department": department},
        )
        assert refused.status_code == 400
        assert refused.get_json()["error"]["code"] == "invalid_department"


def test_a_staff_entry_may_be_an_inspector_of_a_known_department(tmp_path):
    registry = tmp_path / "credentials.toml"
    entry = '[[staff]]\nusername = "u"\nrole = "inspector"\nsubject = "ins-a"\npassword = "x"\n'
    registry.write_text(entry + 'totp_secret = "A"\ndepartment = "education"\n')
    assert creds.Credentials.load(registry).staff["u"].department == "education"
    registry.write_text(entry + 'totp_secret = "A"\ndepartment = "police"\n')
    with pytest.raises(ValueError, match="department"):
        creds.Credentials.load(registry)


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"period": "2026Q5"}, "invalid_period"),
        ({"period": "26Q1"}, "invalid_period"),
        ({"period": "２０２６"}, "invalid_period"),
        ({"period": "2026Q1", "kind": "random"}, "invalid_kind"),
        ({"period": "2026Q1", "department": "police"}, "invalid_department"),
        ({"period": "2026Q1", "extra": 1}, "invalid_input"),
    ],
)
def test_a_bad_plan_is_a_400_with_its_code(client, pool, body, code):
    regulator = login(client, "regulator", "r-1", "sports")
    answer = post(client, "/api/v1/inspection/plans", body, regulator)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == code
    assert not [c for c in pool.calls if c[0] == "inspection.open_plan"]


def test_a_plan_is_for_the_regulators_department_unless_it_names_one(client, pool):
    pool.answers["inspection.open_plan"] = {"plan_id": "p-1", "status": "committed"}
    sports = login(client, "regulator", "r-1", "sports")
    assert post(client, "/api/v1/inspection/plans", {"period": "2026Q1"}, sports).status_code == 201
    args, _ = pool.last("inspection.open_plan")
    assert args[:4] == ("sports", "2026Q1", "routine", "regulator:r-1")
    body = {"period": "2026", "kind": "special", "department": "samr", "reason": "投诉线索"}
    assert post(client, "/api/v1/inspection/plans", body, sports).status_code == 201
    assert pool.last("inspection.open_plan")[0][:3] == ("samr", "2026", "special")
    nameless = login(client, "regulator", "r-2")
    answer = post(client, "/api/v1/inspection/plans", {"period": "2026"}, nameless)
    assert answer.get_json()["error"]["code"] == "invalid_department"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"finding": "minor"}, "rectification_days"),
        ({"finding": "minor", "rectification_days": 0}, "rectification_days"),
        ({"finding": "minor", "rectification_days": 91}, "rectification_days"),
        ({"finding": "minor", "rectification_days": "5"}, "rectification_days"),
        ({"finding": "none", "rectification_days": 5}, "rectification_days"),
        ({"finding": "awful"}, "finding"),
        ({"finding": "none", "note": "x" * 501}, "note"),
    ],
)
def test_a_bad_result_is_a_400_naming_the_field(client, pool, body, field):
    inspector = login(client, "inspector", "ins-a")
    answer = post(client, "/api/v1/inspections/i-1/result", body, inspector)
    assert answer.status_code == 400, answer.get_json()
    assert field in answer.get_json()["error"]["details"]["fields"]
    assert not [c for c in pool.calls if c[0] == "inspection.record_result"]


def test_results_and_check_ins_reach_the_service_as_the_inspector(client, pool):
    pool.answers["inspection.record_result"] = lambda *a: {**INSPECTION, "status": "rectifying"}
    pool.answers["inspection.check_in"] = {
        "inspection_id": "i-1",
        "checked_in_at": "2026-12-01T10:00:00+00:00",
        "over_quota": True,
        "warning": "over_quota",
    }
    inspector = login(client, "inspector", "ins-a", "sports")
    minor = {"finding": "minor", "note": "过期课程未公示", "rectification_days": 90}
    assert post(client, "/api/v1/inspections/i-1/result", minor, inspector).status_code == 200
    args, _ = pool.last("inspection.record_result")
    assert args[:5] == ("i-1", "ins-a", "minor", "过期课程未公示", 90)
    too_long = post(
        client, "/api/v1/inspections/i-1/check-in", {"merchant_code": "c" * 513}, inspector
    )
    assert too_long.status_code == 400
    checked = post(client, "/api/v1/inspections/i-1/check-in", {"merchant_code": "code"}, inspector)
    assert checked.status_code == 200 and checked.get_json()["warning"] == "over_quota"
    assert pool.last("inspection.check_in")[0][:3] == ("i-1", "ins-a", "code")
    pool.answers["inspection.check_in"] = ServiceError(
        "business_rule", "inspector_blocked", "three visits without findings"
    )
    blocked = post(client, "/api/v1/inspections/i-1/check-in", {"merchant_code": "code"}, inspector)
    assert blocked.status_code == 422
    assert blocked.get_json()["error"]["code"] == "inspector_blocked"


# --- who sees which inspection -----------------------------------------------------------


def test_an_inspection_is_seen_by_its_inspectors_its_merchant_and_regulators(client):
    for role, subject, status in (
        ("inspector", "ins-a", 200),
        ("inspector", "ins-c", 404),
        ("merchant", "m-1", 200),
        ("merchant", "m-2", 404),
        ("regulator", "r-1", 200),
        ("consumer", "c-1", 403),
        ("bank", "b-1", 403),
    ):
        answer = client.get("/api/v1/inspections/i-1", headers=login(client, role, subject))
        assert answer.status_code == status, (role, subject)
        if status == 404:
            assert answer.get_json()["error"]["code"] == "not_found"
            assert "ins-a" not in answer.get_data(as_text=True)


def test_a_merchant_learns_of_a_visit_only_when_the_inspectors_check_in(client, pool):
    """A random visit told beforehand (and by whom) is no random visit: before any check-in
    the merchant gets the unknown id's answer, word for word, and never the drawn pair."""
    merchant = login(client, "merchant", "m-1")
    planned = {**INSPECTION, "status": "planned"}
    pool.answers["inspection.inspection"] = lambda inspection_id: dict(planned)
    hidden = client.get("/api/v1/inspections/i-1", headers=merchant)
    pool.answers["inspection.inspection"] = ServiceError(
        "not_found", "inspection_not_found", "no inspection i-9", {}
    )
    unknown = client.get("/api/v1/inspections/i-9", headers=merchant)
    for answer in (hidden, unknown):
        assert answer.status_code == 404
        assert answer.get_json()["error"]["code"] == "not_found"
        assert "ins-a" not in answer.get_data(as_text=True)
    pool.answers["inspection.inspection"] = lambda inspection_id: dict(INSPECTION)
    seen = client.get("/api/v1/inspections/i-1", headers=merchant).get_json()
    assert seen["status"] == "checked_in" and seen["inspectors"] == []
    regulator = client.get("/api/v1/inspections/i-1", headers=login(client, "regulator", "r"))
    assert regulator.get_json()["inspectors"] == ["ins-a", "ins-b"]


def test_each_caller_lists_only_what_it_may(client, pool):
    inspector = login(client, "inspector", "ins-a")
    assert client.get("/api/v1/inspections?mine=1", headers=inspector).status_code == 200
    assert pool.last("inspection.inspections")[1]["assignee"] == "ins-a"
    for url, headers, status in (
        ("/api/v1/inspections?merchant_id=m-1", inspector, 403),
        ("/api/v1/inspections", inspector, 400),
        ("/api/v1/inspections?mine=1&plan_id=p-1", inspector, 400),
        ("/api/v1/inspections?merchant_id=m-2", login(client, "merchant", "m-1"), 404),
        ("/api/v1/inspections?plan_id=p-1", login(client, "merchant", "m-1"), 403),
        ("/api/v1/inspections?mine=1", login(client, "regulator", "r"), 400),
    ):
        answer = client.get(url, headers=headers)
        assert answer.status_code == status, (url, answer.get_json())
    merchant = login(client, "merchant", "m-1")
    own = client.get("/api/v1/inspections?merchant_id=m-1", headers=merchant)
    assert own.status_code == 200
    assert pool.last("inspection.inspections")[1]["merchant_id"] == "m-1"
    assert pool.last("inspection.inspections")[1]["announced_only"] is True
    assert [i["inspectors"] for i in own.get_json()["items"]] == [[]], "who was drawn: hidden"
    regulator = login(client, "regulator", "r")
    assert client.get("/api/v1/inspections?plan_id=p-1", headers=regulator).status_code == 200
    assert pool.last("inspection.inspections")[1]["plan_id"] == "p-1"


def test_only_the_merchant_itself_gets_its_check_in_code(client, pool):
    pool.answers["inspection.merchant_code"] = {"merchant_code": "t", "expires_at": "later"}
    url = "/api/v1/merchants/m-1/inspection-code"
    assert client.get(url, headers=login(client, "merchant", "m-1")).status_code == 200
    assert client.get(url, headers=login(client, "merchant", "m-2")).status_code == 404
    assert client.get(url, headers=login(client, "inspector", "ins-a")).status_code == 403


# --- the merchant's page -----------------------------------------------------------------


def test_the_merchant_page_shows_the_tier_and_its_reasons_only_to_whom_they_belong(client, pool):
    public = client.get("/api/v1/merchants/m-1").get_json()["inspection"]
    assert public["tier"] == "A" and "reasons" not in public
    for who in (login(client, "merchant", "m-1"), login(client, "regulator", "r")):
        own = client.get("/api/v1/merchants/m-1", headers=who).get_json()["inspection"]
        assert own["reasons"] == CLASSIFICATION["reasons"]
    other = client.get("/api/v1/merchants/m-1", headers=login(client, "merchant", "m-2"))
    assert "reasons" not in other.get_json()["inspection"]


@pytest.mark.parametrize(
    "answer",
    [None, RpcTimeout(), ServiceError("not_found", "not_found", "unknown merchant")],
)
def test_the_merchant_page_answers_without_its_tier_when_the_service_cannot_give_it(
    client, pool, answer
):
    pool.answers["inspection.classification"] = answer if answer is not None else (lambda m: None)
    page = client.get("/api/v1/merchants/m-1")
    assert page.status_code == 200 and page.get_json()["inspection"] is None
    assert page.get_json()["name"] == "Shop"


# --- evidence ----------------------------------------------------------------------------


def put_evidence(client, data: bytes, headers, name: str | None = None):
    name = name or hashlib.sha256(data).hexdigest()
    return client.put(
        f"/api/v1/evidence/{name}",
        data=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )


def test_evidence_is_stored_under_its_checked_hash_and_read_back_by_whom_it_may(client):
    photo = b"\x89PNG rectified signage" * 10
    name = hashlib.sha256(photo).hexdigest()
    shop = login(client, "merchant", "m-1")
    first = put_evidence(client, photo, shop)
    assert first.status_code == 201 and first.get_json() == {"sha256": name, "created": True}
    again = put_evidence(client, photo, shop)
    assert again.status_code == 200 and again.get_json()["created"] is False
    for who, status in (
        (shop, 200),
        (login(client, "regulator", "r"), 200),
        (login(client, "inspector", "ins-a"), 404),  # no inspection of its names the file
        (login(client, "merchant", "m-2"), 404),
        (login(client, "consumer", "c-1"), 403),
        ({}, 401),
    ):
        answer = client.get(f"/api/v1/evidence/{name}", headers=who)
        assert answer.status_code == status
        if status == 200:
            assert answer.data == photo
            assert answer.headers["Content-Type"] == "application/octet-stream"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
    unknown = client.get(f"/api/v1/evidence/{'0' * 64}", headers=shop)
    assert unknown.status_code == 404


def test_an_inspector_reads_evidence_named_by_an_inspection_assigned_to_it(client, pool):
    photo = b"the rectified fire exit"
    name = hashlib.sha256(photo).hexdigest()
    put_evidence(client, photo, login(client, "merchant", "m-1"))
    pool.answers["inspection.evidence_inspections"] = lambda sha: {
        "items": [
            {**{k: INSPECTION[k] for k in ("merchant_id", "inspectors")}, "inspection_id": "i-1"}
        ]
        if sha == name
        else []
    }
    for inspector, status in (("ins-a", 200), ("ins-b", 200), ("ins-c", 404)):
        answer = client.get(
            f"/api/v1/evidence/{name}", headers=login(client, "inspector", inspector)
        )
        assert answer.status_code == status, inspector
    assert pool.last("inspection.evidence_inspections")[0] == (name,)
    own = b"an inspector's own photo"
    put_evidence(client, own, login(client, "inspector", "ins-c"))
    own_name = hashlib.sha256(own).hexdigest()
    assert (
        client.get(
            f"/api/v1/evidence/{own_name}", headers=login(client, "inspector", "ins-c")
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/evidence/{own_name}", headers=login(client, "inspector", "ins-a")
        ).status_code
        == 404
    )
    regulator_calls = len(pool.calls)
    assert (
        client.get(f"/api/v1/evidence/{name}", headers=login(client, "regulator", "r")).status_code
        == 200
    )
    assert not any(
        n == "inspection.evidence_inspections" for n, _, _ in pool.calls[regulator_calls:]
    )


def test_evidence_that_is_not_what_it_claims_or_too_large_is_refused_and_not_stored(
    client, tmp_path
):
    shop = login(client, "merchant", "m-1")
    wrong = put_evidence(client, b"one file", shop, hashlib.sha256(b"another").hexdigest())
    assert wrong.status_code == 400
    assert wrong.get_json()["error"]["code"] == "evidence_hash_mismatch"
    big = put_evidence(client, b"x" * 1025, shop)
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "request_too_large"
    for name in ("ABCDEF" + "0" * 58, "0" * 63, "..%2F..%2Fetc%2Fpasswd"):
        answer = put_evidence(client, b"x", shop, name)
        assert answer.status_code in (400, 404), name
    files = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
    assert files == [], "nothing was stored"
    assert put_evidence(client, b"", shop).get_json()["error"]["code"] == "evidence_empty"


def test_a_rectification_names_evidence_the_merchant_uploaded_first(client, pool):
    pool.answers["inspection.submit_rectification"] = lambda *a: {
        **INSPECTION,
        "status": "submitted",
    }
    shop = login(client, "merchant", "m-1")
    proof = b"new price list on the wall"
    sha = hashlib.sha256(proof).hexdigest()
    body = {"evidence_sha256": sha, "note": "已整改"}
    missing = post(client, "/api/v1/inspections/i-1/rectification", body, shop)
    assert missing.status_code == 422
    assert missing.get_json()["error"]["code"] == "evidence_not_uploaded"
    put_evidence(client, proof, login(client, "merchant", "m-2"))
    someone_elses = post(client, "/api/v1/inspections/i-1/rectification", body, shop)
    assert someone_elses.get_json()["error"]["code"] == "evidence_not_uploaded"
    put_evidence(client, proof, shop)
    done = post(client, "/api/v1/inspections/i-1/rectification", body, shop)
    assert done.status_code == 200, done.get_json()
    assert pool.last("inspection.submit_rectification")[0][:4] == ("i-1", "m-1", sha, "已整改")
    not_its_own = post(
        client, "/api/v1/inspections/i-1/rectification", body, login(client, "merchant", "m-2")
    )
    assert not_its_own.status_code == 404
