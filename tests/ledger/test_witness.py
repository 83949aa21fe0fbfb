"""The witness refuses rollbacks, forks and rewritten histories; the client recovers state."""
from __future__ import annotations

import base64
import subprocess
import sys
import threading

import pytest

from devenv.ports import free_port
from ledger import Ledger
from ledger.note import COSIGNATURE_V1, Checkpoint, Signer, sign_note
from ledger.witness import Witness, create_witness_app
from ledger.witness_client import WitnessClient, WitnessRefused
from tests.messaging.harness import ROOT, wait_until

ORIGIN = "test.prepaid-trust.local/ledger"


@pytest.fixture
def log_key():
    return Signer.generate(ORIGIN)


@pytest.fixture
def witness_key():
    return Signer.generate("bank.test/witness", COSIGNATURE_V1)


def build(path, entries) -> Ledger:
    log = Ledger.open(path)
    log.append_batch(entries)
    return log


def note_for(log: Ledger, size: int, key: Signer) -> str:
    return sign_note(Checkpoint(ORIGIN, size, log.root(size)).body(), key)


def submission(old: int, proof: list[bytes], note: str) -> bytes:
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{note}".encode()


@pytest.fixture
def witness(tmp_path, log_key, witness_key):
    w = Witness(witness_key, {ORIGIN: log_key.verifier}, tmp_path / "state.db",
                clock=lambda: 1_800_000_000)
    yield w
    w.close()


def test_statuses(witness, tmp_path, log_key, witness_key):
    client = create_witness_app(witness).test_client()
    log = build(tmp_path / "a.db", [f"e{i}".encode() for i in range(20)])
    post = lambda body: client.post("/add-checkpoint", data=body)  # noqa: E731

    first = post(submission(0, [], note_for(log, 8, log_key)))
    assert first.status_code == 200
    body = Checkpoint(ORIGIN, 8, log.root(8)).body()
    assert witness_key.verifier.verify_line(body, first.get_data(as_text=True).strip())
    assert witness.latest(ORIGIN) == (8, log.root(8))

    grown = post(submission(8, log.consistency_proof(8, 14), note_for(log, 14, log_key)))
    assert grown.status_code == 200 and witness.latest(ORIGIN)[0] == 14
    assert post(submission(14, [], note_for(log, 14, log_key))).status_code == 200, "re-cosign"

    stale = post(submission(8, log.consistency_proof(8, 20), note_for(log, 20, log_key)))
    assert stale.status_code == 409
    assert stale.content_type.startswith("text/x.tlog.size") and stale.get_data() == b"14\n"

    assert post(submission(14, [], note_for(log, 9, log_key))).status_code == 409, "rollback"
    other = build(tmp_path / "b.db", [f"x{i}".encode() for i in range(14)])
    fork = sign_note(Checkpoint(ORIGIN, 14, other.root(14)).body(), log_key)
    assert post(submission(14, [], fork)).status_code == 409, "same size, other root"
    bad_proof = [bytes(32)] * len(log.consistency_proof(14, 20))
    assert post(submission(14, bad_proof, note_for(log, 20, log_key))).status_code == 409
    assert witness.latest(ORIGIN)[0] == 14, "a refusal changes nothing"

    forged = sign_note(Checkpoint(ORIGIN, 20, log.root(20)).body(), Signer.generate(ORIGIN))
    assert post(submission(14, log.consistency_proof(14, 20), forged)).status_code == 403
    stranger = Signer.generate("other.log")
    unknown = sign_note(Checkpoint("other.log", 3, log.root(3)).body(), stranger)
    assert post(submission(0, [], unknown)).status_code == 404
    for garbage in (b"", b"hello", b"old x\n\nnote", b"old 14\n!!\n\nnote", b"\xff\xfe"):
        assert post(garbage).status_code == 400, garbage


def test_rewritten_history_is_refused(witness, tmp_path, log_key):
    client = create_witness_app(witness).test_client()
    honest = build(tmp_path / "a.db", [f"e{i}".encode() for i in range(30)])
    assert client.post("/add-checkpoint", data=submission(
        0, [], note_for(honest, 20, log_key))).status_code == 200
    # The same first 12 entries, then a rewritten tail, signed with the real log key.
    rewritten = build(tmp_path / "b.db",
                      [f"e{i}".encode() for i in range(12)] + [f"forged{i}".encode()
                                                               for i in range(30)])
    for size in (20, 25, 42):
        forged = note_for(rewritten, size, log_key)
        proofs = [rewritten.consistency_proof(20, size) if size > 20 else [],
                  honest.consistency_proof(20, min(size, 30)) if size > 20 else []]
        for proof in proofs:
            response = client.post("/add-checkpoint", data=submission(20, proof, forged))
            assert response.status_code == 409, size
    assert witness.latest(ORIGIN) == (20, honest.root(20))


def test_state_survives_restart_and_concurrent_forks_cosign_at_most_one(
        tmp_path, log_key, witness_key):
    a = build(tmp_path / "a.db", [f"e{i}".encode() for i in range(10)])
    b = build(tmp_path / "b.db", [f"f{i}".encode() for i in range(10)])
    for round_no in range(30):
        w = Witness(witness_key, {ORIGIN: log_key.verifier}, tmp_path / f"s{round_no}.db")
        client = create_witness_app(w).test_client()
        results = []
        barrier = threading.Barrier(2)

        def submit(log, results=results, client=client, barrier=barrier):
            barrier.wait()
            results.append(client.post("/add-checkpoint", data=submission(
                0, [], note_for(log, 10, log_key))).status_code)

        threads = [threading.Thread(target=submit, args=(log,)) for log in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 409], results
        winner = w.latest(ORIGIN)
        w.close()
        reopened = Witness(witness_key, {ORIGIN: log_key.verifier}, tmp_path / f"s{round_no}.db")
        assert reopened.latest(ORIGIN) == winner
        reopened.close()


def test_client_against_a_real_witness_process(tmp_path, log_key):
    key_file = tmp_path / "w.key"
    name = "regulator.test/witness"
    vkey = subprocess.run([sys.executable, "-m", "ledger.witness", "init", "--name", name,
                           "--key-file", str(key_file)], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ledger.witness", "serve", "--name", name,
                               "--key-file", str(key_file), "--log-vkey", log_key.verifier.vkey(),
                               "--origin", ORIGIN, "--db", str(tmp_path / "state.db"),
                               "--port", str(port)], cwd=ROOT)
    try:
        from ledger.note import Verifier

        client = WitnessClient(name, f"http://127.0.0.1:{port}", Verifier.from_vkey(vkey))
        log = build(tmp_path / "a.db", [f"e{i}".encode() for i in range(50)])
        wait_until(lambda: _answers(port), what="the witness")
        for size in (5, 17, 50):
            line = client.cosign(log, size, note_for(log, size, log_key))
            assert client.verifier.verify_line(Checkpoint(ORIGIN, size, log.root(size)).body(),
                                               line)
        forgetful = WitnessClient(name, f"http://127.0.0.1:{port}", Verifier.from_vkey(vkey))
        log.append_batch([b"more", b"entries"])
        assert forgetful.cosign(log, 52, note_for(log, 52, log_key)), "adopts the size on 409"
        with pytest.raises(WitnessRefused) as refused:
            forgetful.cosign(log, 30, note_for(log, 30, log_key))
        assert refused.value.status == 409
    finally:
        server.terminate()
        server.wait(timeout=10)


def _answers(port) -> bool:
    import requests

    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
    except requests.RequestException:
        return False
