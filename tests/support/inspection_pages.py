"""A merchant drawn for an on-site inspection on the real platform, through the public API, for
the inspection pages' browser tests: a fitness merchant (体育局), two inspectors enrolled, and
special plans of the department drawn until one visits the merchant (the draw picks a share
of the department's merchants, and other tests' merchants share the session's platform)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.support.harness import wait_until
from tests.support.merchants import onboard

DEPARTMENT = "sports"
MAX_PLANS = 15


@dataclass
class DrawnVisit:
    merchant_id: str
    name: str
    inspection_id: str
    inspector: str
    regulator: dict[str, str]


def login(platform, role: str, subject: str, department: str = "") -> dict[str, str]:
    body = {"role": role, "subject": subject, **({"department": department} if department else {})}
    answer = platform.post("/api/v1/auth/dev-login", json=body)
    assert answer.status_code == 200, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def _post(platform, url: str, body, headers, expect: int = 200) -> dict:
    answer = platform.post(url, json=body, headers=headers)
    assert answer.status_code == expect, (url, answer.get_json())
    return answer.get_json()


def _draw(platform, regulator, plan_id: str) -> dict:
    def attempt():
        answer = platform.post(f"/api/v1/inspection/plans/{plan_id}/draw", headers=regulator)
        if answer.status_code == 409:  # commitment_not_notarised: the ledger is a moment behind
            return None
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    return wait_until(attempt, timeout=60, what="the plan's draw")


def drawn_visit(platform, name: str) -> DrawnVisit:
    merchant_id = onboard(platform, name=name, industry="fitness")
    wait_until(
        lambda: platform.get(f"/api/v1/merchants/{merchant_id}").get_json().get("inspection"),
        timeout=60,
        what="the merchant's classification",
    )
    regulator = login(platform, "regulator", "r-pages", DEPARTMENT)
    for n in range(2):
        _post(
            platform,
            "/api/v1/inspection/inspectors",
            {"inspector_id": f"ins-{uuid.uuid4().hex[:8]}-{n}", "department": DEPARTMENT},
            regulator,
        )
    for _ in range(MAX_PLANS):
        plan = _post(
            platform,
            "/api/v1/inspection/plans",
            {
                "department": DEPARTMENT,
                "period": "2026",
                "kind": "special",
                "reason": "预付卡投诉专项检查（页面测试）",
            },
            regulator,
            expect=201,
        )
        drawn = _draw(platform, regulator, plan["plan_id"])
        ours = [i for i in drawn["inspections"] if i["merchant_id"] == merchant_id]
        if ours:
            (visit,) = ours
            assert visit["mode"] == "visit" and len(visit["inspectors"]) == 2, visit
            return DrawnVisit(
                merchant_id, name, visit["inspection_id"], visit["inspectors"][0], regulator
            )
    raise AssertionError(f"no special plan of {MAX_PLANS} drew {merchant_id}")
