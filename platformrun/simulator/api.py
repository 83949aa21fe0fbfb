"""The demo's HTTP client: the platform's real API, signed in through demo mode's dev-login."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from urllib.parse import urlparse


class ApiError(RuntimeError):
    def __init__(self, status: int, body: dict):
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


class Api:
    """One keep-alive connection per thread; every POST carries a fresh Idempotency-Key."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        if not parsed.hostname or parsed.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s)://host[:port] URL: {url!r}")
        self.host = parsed.hostname
        self.connection_class = (
            http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
        )
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.local = threading.local()
        self.tokens: dict[tuple[str, str], dict] = {}

    def _send(self, method: str, path: str, body: dict | None, headers: dict) -> dict:
        for attempt in range(2):  # one reconnect if the server closed the idle connection
            if not hasattr(self.local, "conn"):
                self.local.conn = self.connection_class(self.host, self.port, timeout=120)
            try:
                self.local.conn.request(
                    method,
                    path,
                    None if body is None else json.dumps(body),
                    {"Content-Type": "application/json", **headers},
                )
                answer = self.local.conn.getresponse()
                data = json.loads(answer.read() or b"{}")
            except (http.client.HTTPException, OSError):
                del self.local.conn
                if attempt:
                    raise
                continue
            if answer.status == 429:  # the gateway's rate limit: wait as told, then again
                time.sleep(max(1, int(answer.getheader("Retry-After") or 1)))
                return self._send(method, path, body, headers)
            if answer.status >= 400:
                raise ApiError(answer.status, data)
            return data
        raise AssertionError("unreachable")

    def login(self, role: str, subject: str) -> dict:
        """A fresh token's headers, not kept here (for a caller that keeps its own)."""
        token = self._send(
            "POST", "/api/v1/auth/dev-login", {"role": role, "subject": subject}, {}
        )["token"]
        return {"Authorization": f"Bearer {token}"}

    def auth(self, role: str, subject: str) -> dict:
        key = (role, subject)
        if key not in self.tokens:
            self.tokens[key] = self.login(role, subject)
        return self.tokens[key]

    def post(self, path: str, body: dict | None, role: str, subject: str) -> dict:
        return self.post_as(self.auth(role, subject), path, body)

    def post_as(self, headers: dict, path: str, body: dict | None) -> dict:
        return self._send(
            "POST", path, body or {}, {**headers, "Idempotency-Key": uuid.uuid4().hex}
        )

    def get(self, path: str, role: str | None = None, subject: str = "") -> dict:
        return self._send("GET", path, None, self.auth(role, subject) if role else {})
