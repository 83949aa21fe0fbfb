"""The log's side of c2sp.org/tlog-witness: submit a checkpoint with a consistency proof from
whatever the witness last cosigned, and check the cosignature that comes back.

Plain blocking `requests` with a timeout on every call, so it runs the same in a thread or in
an eventlet greenthread (nameko monkey-patches the sockets). One client serves one caller at
a time (the notary holds its cosigning lock around it): it keeps the witness's size and a
keep-alive session, neither of which is meant to be shared by concurrent calls.
"""

from __future__ import annotations

import requests

from ledger.log import Ledger
from ledger.note import COSIGNATURE_V1, Checkpoint, Verifier, split_note
from ledger.witness_protocol import format_submission, parse_size_body


class WitnessRefused(Exception):
    """The witness answered, and not with a cosignature we can use."""

    def __init__(self, status: int, body: str):
        super().__init__(f"witness answered {status}: {body.strip()}")
        self.status = status
        self.body = body


class BadCosignature(WitnessRefused):
    """A 200 whose lines hold no valid cosignature by the witness's key on this checkpoint."""


class WitnessUnavailable(Exception):
    """No answer (connection, timeout) or a 429/5xx: try again later."""


class WitnessClient:
    def __init__(self, name: str, url: str, verifier: Verifier, timeout: float = 5):
        if verifier.sig_type != COSIGNATURE_V1:
            raise ValueError(f"{name}: a witness key is a cosignature/v1 key (type 0x04)")
        self.name = name
        self.url = url.rstrip("/")
        self.verifier = verifier
        self.timeout = timeout
        self.known_size: int | None = None
        """The size the witness last cosigned for us, as far as we know; None: unknown."""
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def cosign(self, ledger: Ledger, size: int, note: str) -> str:
        """The witness's verified cosignature line on `note`, the ledger's checkpoint of size.

        Raises WitnessRefused (a 4xx, or a 200 without a valid cosignature) or
        WitnessUnavailable; ValueError when the note is not the ledger's checkpoint of `size`.
        """
        body, _ = split_note(note)
        checkpoint = Checkpoint.parse(body)
        if checkpoint.size != size or checkpoint.root != ledger.root(size):
            raise ValueError(f"the note is not this ledger's checkpoint of size {size}")
        response = self._post(ledger, self.known_size or 0, size, note)
        if response.status_code == 409:
            latest = parse_size_body(response.headers.get("Content-Type", ""), _text(response))
            if latest is not None:
                # We had its state wrong (our restart, its restart, another log process):
                # prove from the size it has, once.
                self.known_size = latest
                if latest > size:
                    raise WitnessRefused(409, f"witness has cosigned size {latest}, beyond {size}")
                response = self._post(ledger, latest, size, note)
        self._raise_unless_ok(response)
        for line in _text(response).splitlines():
            # Other lines may be other keys' cosignatures: the spec says to ignore those.
            if self.verifier.verify_line(body, line):
                self.known_size = size
                return line
        raise BadCosignature(
            200,
            f"no cosignature by {self.verifier.name} verifies on size {size}: {_text(response)!r}",
        )

    def _post(self, ledger: Ledger, old: int, size: int, note: str) -> requests.Response:
        proof = ledger.consistency_proof(old, size) if 0 < old < size else []
        try:
            return self._session.post(
                f"{self.url}/add-checkpoint",
                data=format_submission(old, proof, note).encode(),
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise WitnessUnavailable(f"{self.name} at {self.url}: {exc}") from exc

    def _raise_unless_ok(self, response: requests.Response) -> None:
        status, text = response.status_code, _text(response)
        if status == 429 or status >= 500:
            raise WitnessUnavailable(f"{self.name} answered {status}: {text.strip()}")
        if status != 200:
            if status == 409:
                latest = parse_size_body(response.headers.get("Content-Type", ""), text)
                if latest is not None:  # lost a race after adopting: next call proves from it
                    self.known_size = latest
            raise WitnessRefused(status, text)


def _text(response: requests.Response) -> str:
    # Not response.text: without a charset, requests would read the U+2014 of a signature
    # line as ISO-8859-1, and the protocol is UTF-8 throughout.
    return response.content.decode("utf-8", errors="replace")
