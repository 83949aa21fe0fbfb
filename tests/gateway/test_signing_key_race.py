"""Two demo gateways starting at once on one key file (GATEWAY_JWT_KEY_FILE, `make
run-cluster`): one creates the signing key, the others load that same key; none exits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from services.gateway import signing_key
from services.gateway.auth import TokenIssuer
from services.key_files import create_key_file

GATEWAYS = 4


def test_gateways_starting_at_once_share_one_key(tmp_path, monkeypatch):
    path = tmp_path / "gateway" / "jwt-ed25519.pem"
    # Every gateway has found no key file and made its own key before any of them links
    # one in place: the race exactly as two processes starting together meet it.
    all_made_theirs = threading.Barrier(GATEWAYS, timeout=10)

    def create_when_all_are_creating(target, content):
        all_made_theirs.wait()
        return create_key_file(target, content)

    monkeypatch.setattr(signing_key, "create_key_file", create_when_all_are_creating)

    def start_gateway(_):
        return TokenIssuer.from_key_file(path, mode="demo", create=True)

    with ThreadPoolExecutor(GATEWAYS) as pool:
        issuers = list(pool.map(start_gateway, range(GATEWAYS)))

    assert len({issuer.kid for issuer in issuers}) == 1
    assert issuers[0].kid == signing_key.key_id(signing_key.load(path, "demo"))
    token = issuers[0].issue("consumer", "c-1")
    assert all(issuer.verify(token).subject == "c-1" for issuer in issuers[1:])
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


def test_ensure_says_which_call_made_the_key_and_never_replaces_it(tmp_path):
    path = tmp_path / "jwt.pem"
    assert signing_key.ensure(path, "demo") is True
    first = path.read_bytes()
    assert signing_key.ensure(path, "demo") is False
    assert path.read_bytes() == first
