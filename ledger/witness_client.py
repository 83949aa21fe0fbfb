"""The log's side of the witness protocol: submit a checkpoint with a consistency proof from
whatever the witness last cosigned, and check the cosignature that comes back."""
from __future__ import annotations

import base64

import requests

from ledger.log import Ledger
from ledger.note import Verifier, split_note
from ledger.witness import SIZE_CONTENT_TYPE


class WitnessRefused(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"witness answered {status}: {body.strip()}")
        self.status = status
        self.body = body


class WitnessUnavailable(Exception):
    pass


class WitnessClient:
    def __init__(self, name: str, url: str, verifier: Verifier, timeout: float = 5.0):
        self.name = name
        self.url = url.rstrip("/")
        self.verifier = verifier
        self.timeout = timeout
        self.known_size = 0
        self._session = requests.Session()

    def _post(self, ledger: Ledger, size: int, note: str) -> requests.Response:
        old = self.known_size
        proof = ledger.consistency_proof(old, size) if 0 < old < size else []
        body = f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof)
        try:
            return self._session.post(f"{self.url}/add-checkpoint", data=(body + "\n" + note)
                                      .encode(), timeout=self.timeout)
        except requests.RequestException as exc:
            raise WitnessUnavailable(f"{self.name} at {self.url}: {exc}") from exc

    def cosign(self, ledger: Ledger, size: int, note: str) -> str:
        """The witness's verified cosignature line for the checkpoint of `size`."""
        response = self._post(ledger, size, note)
        if (response.status_code == 409
                and response.headers.get("Content-Type", "").startswith(SIZE_CONTENT_TYPE)):
            # We had its state wrong (a restart, another log process): prove from its size.
            self.known_size = int(response.text.strip())
            if self.known_size > size:
                raise WitnessRefused(409, f"witness is at {self.known_size}, beyond {size}")
            response = self._post(ledger, size, note)
        if response.status_code != 200:
            raise WitnessRefused(response.status_code, response.text)
        body, _ = split_note(note)
        line = response.text.strip()
        if not self.verifier.verify_line(body, line):
            raise WitnessRefused(200, "the cosignature does not verify with the witness's key")
        self.known_size = size
        return line
