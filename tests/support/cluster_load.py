"""Clients of the platform cluster over HTTP, as a real client behaves: every POST carries an
Idempotency-Key, and a transport error or a 5xx is retried with the same key (through the
other gateway, as a load balancer would send it), until an answer that is not a 5xx. A 409
`idempotency_in_progress` is retried too, after a short wait: the gateways share their
idempotency records, so a retry after a timeout may find the first attempt still running."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

RETRY_FOR = 120.0
"""How long a client keeps retrying one request (a broker node's or a replica's death)."""


def _still_in_progress(answer: requests.Response) -> bool:
    if answer.status_code != 409:
        return False
    try:
        return answer.json()["error"]["code"] == "idempotency_in_progress"
    except (ValueError, KeyError, TypeError):
        return False


@dataclass
class Client:
    gateways: list[str]
    index: int = 0
    session: requests.Session = field(default_factory=requests.Session)
    retries: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    in_progress: int = 0
    """Retries answered 409 idempotency_in_progress (the first attempt still running)."""

    def __post_init__(self) -> None:
        # Clients spread over the gateways; a retry goes to the next one.
        self._next = itertools.cycle(range(self.index, self.index + len(self.gateways)))

    def _base(self) -> str:
        return self.gateways[next(self._next) % len(self.gateways)]

    def post(self, path: str, body: dict | None = None, token: str = "") -> requests.Response:
        key = str(uuid.uuid4())
        headers = {"Idempotency-Key": key}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                answer = self.session.post(
                    self._base() + path, json=body or {}, headers=headers, timeout=30
                )
                if _still_in_progress(answer):
                    self.in_progress += 1
                elif answer.status_code < 500:
                    return answer
                else:
                    self.server_errors += 1
                problem = f"{answer.status_code} {answer.text[:200]}"
            except requests.RequestException as exc:
                self.transport_errors += 1
                problem = repr(exc)
            if time.monotonic() > deadline:
                raise AssertionError(f"POST {path} unanswered for {RETRY_FOR}s: {problem}")
            self.retries += 1
            time.sleep(0.5)

    def get(self, path: str, token: str) -> requests.Response:
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                answer = self.session.get(
                    self._base() + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
                )
                if answer.status_code < 500:
                    return answer
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"GET {path} unanswered for {RETRY_FOR}s")
            time.sleep(0.5)

    def login(self, role: str, subject: str) -> str:
        answer = self.post("/api/v1/auth/dev-login", {"role": role, "subject": subject})
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]


def onboard_merchant(client: Client, uscc: str) -> str:
    """Applied for by one operator, approved by another (maker-checker)."""
    from tests.support.merchants import application

    created = client.post(
        "/api/v1/merchants", application(uscc=uscc), client.login("operator", "op-1")
    )
    assert created.status_code == 201, created.text
    merchant_id = created.json()["merchant_id"]
    approved = client.post(
        f"/api/v1/merchants/{merchant_id}/approve", token=client.login("operator", "op-2")
    )
    assert approved.status_code == 200, approved.text
    return merchant_id


@dataclass
class Spender:
    """One consumer with one stored-value card at the merchant, spending it a bit at a time:
    the merchant asks for a redemption, the consumer confirms it."""

    client: Client
    merchant_token: str
    consumer_id: str
    card_id: str = ""
    consumer_token: str = ""
    confirmed: dict[str, int] = field(default_factory=dict)
    """redemption id -> released amount, as the confirm's answer said."""
    answers: list[str] = field(default_factory=list)
    """Each confirm's redemption id, once per answer received."""

    def buy(self, product_id: str) -> None:
        self.consumer_token = self.client.login("consumer", self.consumer_id)
        bought = self.client.post("/api/v1/cards", {"product_id": product_id}, self.consumer_token)
        assert bought.status_code == 201, bought.text
        self.card_id = bought.json()["card_id"]

    def spend(self, times: int, amount: int) -> None:
        for _ in range(times):
            hold = self.client.post(
                f"/api/v1/cards/{self.card_id}/redemptions", {"amount": amount}, self.merchant_token
            )
            assert hold.status_code == 201, hold.text
            redemption_id = hold.json()["redemption_id"]
            done = self.client.post(
                f"/api/v1/redemptions/{redemption_id}/confirm", token=self.consumer_token
            )
            assert done.status_code == 200, done.text
            body = done.json()
            assert body["status"] == "confirmed", body
            self.answers.append(redemption_id)
            self.confirmed[redemption_id] = body["released_amount"]


def run_spenders(spenders: list[Spender], times: int, amount: int) -> list[BaseException]:
    """Every spender in its own thread at once; the errors raised, if any."""
    errors: list[BaseException] = []

    def run(spender: Spender) -> None:
        try:
            spender.spend(times, amount)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in spenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return errors
