"""The cluster test's client (tests/support/cluster_load.py) retries as a real client does:
a 409 `idempotency_in_progress` (its first attempt still running on the other gateway) is
retried with the same key, not taken as the answer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.cluster_load import Client


def test_idempotency_in_progress_is_retried_with_the_same_key():
    keys: list[str] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            keys.append(self.headers["Idempotency-Key"])
            if len(keys) == 1:
                status, body = 409, {"error": {"code": "idempotency_in_progress"}}
            else:
                status, body = 201, {"card_id": "c-1"}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = Client([f"http://127.0.0.1:{server.server_port}"])
        answer = client.post("/api/v1/cards", {"product_id": "p"})
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 201 and client.in_progress == 1
    assert len(keys) == 2 and keys[0] == keys[1], "the retry carries the same key"
