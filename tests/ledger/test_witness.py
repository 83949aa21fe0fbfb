"""The witness cosigns only what extends what it cosigned: rollbacks, forks, bad proofs and
rewritten histories get 409, races cosign at most one side, and the client re-syncs."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
import requests
import waitress
from waitress.channel import HTTPChannel

from devenv.ports import free_port, wait_for_port
from ledger import Ledger
from ledger.note import (
    COSIGNATURE_V1,
    DASH,
    Checkpoint,
    Signer,
    Verifier,
    cosignature_time,
    sign_note,
)
from ledger.witness import Submission, Witness, create_witness_app, format_submission
from ledger.witness_client import (
    BadCosignature,
    WitnessClient,
    WitnessRefused,
    WitnessUnavailable,
)
from tests.support.harness import ROOT

ORIGIN = "test.prepaid-trust.local/ledger"
NOW = 1_800_000_000
SIZE_TYPE = "text/x.tlog.size"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now + 0.75  # a cosignature carries whole seconds


@pytest.fixture
def log_key():
    return Signer.generate(ORIGIN)


@pytest.fixture
def witness_key():
    return Signer.generate("bank.test/witness", COSIGNATURE_V1)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def witness(tmp_path, log_key, witness_key, clock):
    w = Witness(witness_key, {ORIGIN: log_key.verifier}, tmp_path / "state.db", clock=clock)
    yield w
    w.close()


@pytest.fixture
def http(witness):
    return create_witness_app(witness).test_client()


def build(path, entries) -> Ledger:
    log = Ledger.open(path)
    log.append_batch(list(entries))
    return log


def numbered(prefix: str, start: int, end: int) -> list[bytes]:
    return [f"{prefix}{i}".encode() for i in range(start, end)]


def note_for(log: Ledger, size: int, key: Signer, origin: str = ORIGIN) -> str:
    return sign_note(Checkpoint(origin, size, log.root(size)).body(), key)


def post(http, old: int, proof: list[bytes], note: str):
    return http.post("/add-checkpoint", data=format_submission(old, proof, note).encode())


def cosigns(response, witness_key, log: Ledger, size: int) -> bool:
    body = Checkpoint(ORIGIN, size, log.root(size)).body()
    text = response.get_data(as_text=True)
    return (
        response.status_code == 200
        and text.endswith("\n")
        and all(witness_key.verifier.verify_line(body, line) for line in text.splitlines())
    )


@contextmanager
def serving(witness: Witness):
    """The witness app on a real waitress server on a free loopback port."""
    port = free_port()
    server = waitress.create_server(
        create_witness_app(witness), host="127.0.0.1", port=port, threads=8
    )
    stopping = threading.Event()

    def run():
        # Our own loop rather than server.run(), so that closing happens in this thread, the
        # only one that touches the socket map: closing from outside races the loop.
        while not stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)
        server.task_dispatcher.shutdown()  # workers finish, and stop pulling the trigger
        for dispatcher in list(server._map.values()):
            # A channel drops its buffers in handle_close; the listener and the trigger only
            # know close().
            if isinstance(dispatcher, HTTPChannel):
                dispatcher.handle_close()
            else:
                dispatcher.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stopping.set()
        thread.join(timeout=10)
        assert not thread.is_alive() and not server._map


# --- the rules, through the Flask test client ---------------------------------------------------
def test_first_checkpoint_is_trusted_on_first_use(witness, http, tmp_path, log_key, witness_key):
    log = build(tmp_path / "a.db", numbered("e", 0, 8))
    assert witness.latest(ORIGIN) is None
    response = post(http, 0, [], note_for(log, 8, log_key))
    assert cosigns(response, witness_key, log, 8)
    assert response.content_type.startswith("text/plain")
    assert response.get_data(as_text=True).startswith(DASH + "bank.test/witness ")
    assert cosignature_time(response.get_data(as_text=True).strip()) == NOW
    assert witness.latest(ORIGIN) == (8, log.root(8))


def test_growth_with_a_valid_proof_is_cosigned_and_advances_the_state(
    witness, http, tmp_path, log_key, witness_key
):
    log = build(tmp_path / "a.db", numbered("e", 0, 100))
    assert post(http, 0, [], note_for(log, 1, log_key)).status_code == 200
    # Powers of two and odd sizes on both ends: the proof's two shapes.
    for old, new in [(1, 2), (2, 3), (3, 4), (4, 8), (8, 13), (13, 16), (16, 17), (17, 100)]:
        response = post(http, old, log.consistency_proof(old, new), note_for(log, new, log_key))
        assert cosigns(response, witness_key, log, new), (old, new)
        assert witness.latest(ORIGIN) == (new, log.root(new))


def test_resubmitting_the_cosigned_checkpoint_gets_a_fresh_cosignature(
    witness, http, tmp_path, log_key, witness_key, clock
):
    log = build(tmp_path / "a.db", numbered("e", 0, 14))
    first = post(http, 0, [], note_for(log, 14, log_key))
    clock.now += 60
    again = post(http, 14, [], note_for(log, 14, log_key))
    assert cosigns(again, witness_key, log, 14)
    assert cosignature_time(again.get_data(as_text=True).strip()) == NOW + 60
    assert cosignature_time(first.get_data(as_text=True).strip()) == NOW
    assert witness.latest(ORIGIN) == (14, log.root(14))


@pytest.fixture
def at_14(witness, http, tmp_path, log_key):
    """A witness that has cosigned size 14 of a 30-entry ledger."""
    log = build(tmp_path / "a.db", numbered("e", 0, 30))
    assert post(http, 0, [], note_for(log, 14, log_key)).status_code == 200
    return log


def test_rollback_is_409(witness, http, at_14, log_key):
    response = post(http, 14, [], note_for(at_14, 9, log_key))
    assert response.status_code == 409 and response.content_type.startswith("text/plain")
    assert witness.latest(ORIGIN) == (14, at_14.root(14))


def test_same_size_with_another_root_is_409_and_kept_as_evidence(
    witness, http, tmp_path, at_14, log_key
):
    other = build(tmp_path / "b.db", numbered("x", 0, 14))
    fork = note_for(other, 14, log_key)
    assert post(http, 14, [], fork).status_code == 409
    assert witness.latest(ORIGIN) == (14, at_14.root(14))
    [(size, root, reason, note)] = witness.conflicts(ORIGIN)
    assert (size, root, note) == (14, other.root(14), fork) and "forked" in reason


def test_a_proof_that_does_not_verify_is_409_and_changes_nothing(witness, http, at_14, log_key):
    good = at_14.consistency_proof(14, 20)
    bad_proofs = {
        "zeros": [bytes(32)] * len(good),
        "one hash flipped": good[:-1] + [bytes([good[-1][0] ^ 1]) + good[-1][1:]],
        "truncated": good[:-1],
        "extended": good + [bytes(32)],
        "empty": [],
        "for other sizes": at_14.consistency_proof(13, 20),
    }
    for name, proof in bad_proofs.items():
        response = post(http, 14, proof, note_for(at_14, 20, log_key))
        assert response.status_code == 409, name
        assert not response.content_type.startswith(SIZE_TYPE), name
    assert post(http, 14, good[:1], note_for(at_14, 14, log_key)).status_code == 409, (
        "equal sizes take no proof"
    )
    assert witness.latest(ORIGIN) == (14, at_14.root(14))
    assert post(http, 14, good, note_for(at_14, 20, log_key)).status_code == 200


def test_a_stale_old_size_is_409_with_the_latest_size(witness, http, at_14, log_key):
    for old in (0, 8, 13, 15, 20):
        proof = at_14.consistency_proof(old, 20) if old else []
        response = post(http, old, proof, note_for(at_14, 20, log_key))
        assert response.status_code == 409, old
        assert response.headers["Content-Type"] == SIZE_TYPE  # exactly: no charset
        assert response.get_data() == b"14\n"
    assert witness.latest(ORIGIN) == (14, at_14.root(14))


def test_forged_log_signatures_are_403(witness, http, at_14, log_key):
    body = Checkpoint(ORIGIN, 20, at_14.root(20)).body()
    proof = at_14.consistency_proof(14, 20)
    impostor = Signer.generate(ORIGIN)  # the log's name, another key
    genuine = log_key.sign_line(body)
    spoiled = genuine[:-8] + ("AAAAAAA=" if not genuine.endswith("AAAAAAA=") else "BBBBBBB=")
    tampered = sign_note(body, log_key).replace("\n20\n", "\n21\n")
    for note in (sign_note(body, impostor), sign_note(body, genuine, spoiled), tampered):
        assert post(http, 14, proof, note).status_code == 403, note
    assert witness.latest(ORIGIN) == (14, at_14.root(14))
    assert post(http, 14, proof, sign_note(body, impostor, genuine)).status_code == 200, (
        "an unknown key's signature is ignored"
    )


def test_unknown_origin_is_404(http, tmp_path):
    log = build(tmp_path / "a.db", numbered("e", 0, 3))
    stranger = Signer.generate("other.example/log")
    note = sign_note(Checkpoint("other.example/log", 3, log.root(3)).body(), stranger)
    assert post(http, 0, [], note).status_code == 404


def test_garbage_is_400(http, tmp_path, log_key):
    log = build(tmp_path / "a.db", numbered("e", 0, 3))
    note = note_for(log, 3, log_key)
    hash_line = base64.b64encode(bytes(32)).decode()
    huge = sign_note(f"{ORIGIN}\n{2**63}\n{base64.b64encode(bytes(32)).decode()}\n", log_key)
    bad_checkpoint = ORIGIN + "\n" + "x" + "\n"
    garbage = {
        "empty": b"",
        "words": b"hello",
        "no note": b"old 0\n",
        "no empty line": f"old 0\n{note}".encode(),
        "size not a number": f"old x\n\n{note}".encode(),
        "leading zero": f"old 03\n\n{note}".encode(),
        "negative": f"old -1\n\n{note}".encode(),
        "not ascii digits": f"old \u00b2\n\n{note}".encode(),
        "two spaces": f"old  0\n\n{note}".encode(),
        "proof not base64": f"old 2\n!!\n\n{note}".encode(),
        "proof not 32 bytes": f"old 2\n{base64.b64encode(bytes(31)).decode()}\n\n{note}".encode(),
        "proof unpadded": f"old 2\n{hash_line.rstrip('=')}\n\n{note}".encode(),
        "64 proof lines": f"old 2\n{(hash_line + chr(10)) * 64}\n{note}".encode(),
        "proof from 0": f"old 0\n{hash_line}\n\n{note}".encode(),
        "old size too big": f"old {2**63}\n\n{note}".encode(),
        "size too big": f"old 0\n\n{huge}".encode(),
        "unsigned note": f"old 0\n\n{note.split(chr(10) + chr(10))[0]}\n\n".encode(),
        "bad checkpoint": f"old 0\n\n{sign_note(bad_checkpoint, log_key)}".encode(),
        "not utf-8": b"\xff\xfe",
    }
    for name, body in garbage.items():
        assert http.post("/add-checkpoint", data=body).status_code == 400, name
    assert http.post("/add-checkpoint", data=b"x" * 100_000).status_code == 413


def test_health(http, witness_key):
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "name": "bank.test/witness",
        "vkey": witness_key.verifier.vkey(),
    }


# --- atomicity and durability -------------------------------------------------------------------
def test_a_request_overtaken_between_its_check_and_its_commit_is_409(
    witness, http, tmp_path, log_key, monkeypatch
):
    a = build(tmp_path / "a.db", numbered("e", 0, 14))
    b = build(tmp_path / "b.db", numbered("e", 0, 8) + numbered("f", 8, 14))
    assert post(http, 0, [], note_for(a, 8, log_key)).status_code == 200
    check = witness._check

    def overtaken(checkpoint, submission, latest):
        # A's growth commits while B's request, checked against size 8, is on its way: B's
        # proof is valid against what it read, so only the compare-and-swap stops it.
        monkeypatch.setattr(witness, "_check", check)
        witness.add_checkpoint(Submission(8, a.consistency_proof(8, 14), note_for(a, 14, log_key)))
        check(checkpoint, submission, latest)

    monkeypatch.setattr(witness, "_check", overtaken)
    response = post(http, 8, b.consistency_proof(8, 14), note_for(b, 14, log_key))
    assert response.status_code == 409 and response.get_data() == b"14\n"
    assert response.headers["Content-Type"] == SIZE_TYPE
    assert witness.latest(ORIGIN) == (14, a.root(14))


def test_state_survives_reopening(tmp_path, log_key, witness_key, clock):
    db = tmp_path / "state.db"
    log = build(tmp_path / "a.db", numbered("e", 0, 40))
    first = Witness(witness_key, {ORIGIN: log_key.verifier}, db, clock=clock)
    first.add_checkpoint(Submission(0, [], note_for(log, 21, log_key)))
    first.close()
    again = Witness(witness_key, {ORIGIN: log_key.verifier}, db, clock=clock)
    try:
        assert again.latest(ORIGIN) == (21, log.root(21))
        assert again._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert again._conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        http = create_witness_app(again).test_client()
        assert post(http, 0, [], note_for(log, 40, log_key)).get_data() == b"21\n"
        assert post(http, 21, [], note_for(log, 20, log_key)).status_code == 409
        assert (
            post(http, 21, log.consistency_proof(21, 40), note_for(log, 40, log_key)).status_code
            == 200
        )
    finally:
        again.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT size FROM latest").fetchall() == [(40,)]


# --- a rewritten history ------------------------------------------------------------------------
@pytest.mark.parametrize("kept", [0, 12, 16, 19])
def test_a_rewritten_history_is_refused_at_every_size(
    witness, http, tmp_path, log_key, witness_key, kept
):
    cosigned = 20
    honest = build(tmp_path / "a.db", numbered("e", 0, 30))
    assert post(http, 0, [], note_for(honest, cosigned, log_key)).status_code == 200
    # The same first `kept` entries, then another tail, signed with the real log key.
    rewritten = build(tmp_path / "b.db", numbered("e", 0, kept) + numbered("forged", kept, 42))
    for size in range(cosigned, rewritten.size + 1):
        forged = note_for(rewritten, size, log_key)
        from_b = rewritten.consistency_proof(cosigned, size)
        from_a = honest.consistency_proof(cosigned, min(size, honest.size))
        for proof in (from_b, from_a):
            assert post(http, cosigned, proof, forged).status_code == 409, (size, proof)
    assert witness.latest(ORIGIN) == (cosigned, honest.root(cosigned))
    assert {size for size, *_ in witness.conflicts(ORIGIN)} == set(range(cosigned, 43))

    with serving(witness) as url:
        client = WitnessClient(witness_key.name, url, witness_key.verifier)
        for size in (cosigned, 25, 42):
            with pytest.raises(WitnessRefused) as refused:
                client.cosign(rewritten, size, note_for(rewritten, size, log_key))
            assert refused.value.status == 409 and client.known_size == cosigned
        assert client.cosign(honest, 30, note_for(honest, 30, log_key))
        client.close()


# --- through a real server, driven by WitnessClient --------------------------------------------
def test_the_client_against_a_real_server(witness, tmp_path, log_key, witness_key):
    log = build(tmp_path / "a.db", numbered("e", 0, 50))
    with serving(witness) as url:
        client = WitnessClient(witness_key.name, url, witness_key.verifier, timeout=5)
        assert client.known_size is None
        for size in (5, 8, 17, 17, 50):
            line = client.cosign(log, size, note_for(log, size, log_key))
            body = Checkpoint(ORIGIN, size, log.root(size)).body()
            assert witness_key.verifier.verify_line(body, line)
            assert client.known_size == size == witness.latest(ORIGIN)[0]

        # A client that forgot (a restart) learns the witness's size from its 409.
        log.append_batch([b"more", b"entries"])
        forgetful = WitnessClient(witness_key.name, url, witness_key.verifier)
        assert forgetful.cosign(log, 52, note_for(log, 52, log_key))
        assert forgetful.known_size == 52
        with pytest.raises(WitnessRefused) as refused:
            forgetful.cosign(log, 30, note_for(log, 30, log_key))
        assert refused.value.status == 409 and "rollback" in refused.value.body
        stale = WitnessClient(witness_key.name, url, witness_key.verifier)
        with pytest.raises(WitnessRefused) as refused:
            stale.cosign(log, 30, note_for(log, 30, log_key))
        assert refused.value.status == 409 and stale.known_size == 52

        other_key = Signer.generate(witness_key.name, COSIGNATURE_V1)
        suspicious = WitnessClient(witness_key.name, url, other_key.verifier)
        with pytest.raises(BadCosignature):
            suspicious.cosign(log, 52, note_for(log, 52, log_key))
        with pytest.raises(WitnessRefused) as refused:
            client.cosign(log, 52, note_for(log, 52, Signer.generate(ORIGIN)))
        assert refused.value.status == 403
        with pytest.raises(ValueError):
            client.cosign(log, 51, note_for(log, 52, log_key))
        for c in (client, forgetful, stale, suspicious):
            c.close()

    with pytest.raises(WitnessUnavailable):
        WitnessClient(
            "gone", f"http://127.0.0.1:{free_port()}", witness_key.verifier, timeout=2
        ).cosign(log, 52, note_for(log, 52, log_key))


def test_concurrent_inconsistent_checkpoints_cosign_at_most_one(tmp_path, witness_key):
    rounds = 12
    keys = {f"{ORIGIN}/{r}": Signer.generate(f"{ORIGIN}/{r}") for r in range(2 * rounds)}
    witness = Witness(witness_key, {o: k.verifier for o, k in keys.items()}, tmp_path / "state.db")
    a = build(tmp_path / "a.db", numbered("e", 0, 14))
    b = build(tmp_path / "b.db", numbered("e", 0, 8) + numbered("f", 8, 14))
    try:
        with serving(witness) as url:
            for number, (origin, key) in enumerate(keys.items()):
                from_scratch = number >= rounds  # both race for the first checkpoint
                if not from_scratch:
                    seed = WitnessClient(witness_key.name, url, witness_key.verifier)
                    seed.cosign(a, 8, note_for(a, 8, key, origin))
                    seed.close()
                outcomes = _race(
                    url,
                    witness_key.verifier,
                    [(a, note_for(a, 14, key, origin)), (b, note_for(b, 14, key, origin))],
                    known_size=None if from_scratch else 8,
                )
                won = [log for log, outcome in outcomes if isinstance(outcome, str)]
                lost = [outcome for _, outcome in outcomes if not isinstance(outcome, str)]
                assert len(won) == 1, outcomes
                assert [type(e) for e in lost] == [WitnessRefused] and lost[0].status == 409
                assert witness.latest(origin) == (14, won[0].root(14))
    finally:
        witness.close()


def _race(url, verifier: Verifier, submissions, known_size):
    barrier = threading.Barrier(len(submissions))
    outcomes: list = [None] * len(submissions)

    def submit(i, log, note):
        client = WitnessClient("bank.test/witness", url, verifier)
        client.known_size = known_size
        barrier.wait()
        try:
            outcomes[i] = (log, client.cosign(log, 14, note))
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[i] = (log, exc)
        finally:
            client.close()

    threads = [
        threading.Thread(target=submit, args=(i, log, note))
        for i, (log, note) in enumerate(submissions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


# --- the command line ---------------------------------------------------------------------------
def test_init_and_serve_from_the_command_line(tmp_path, log_key):
    key_file = tmp_path / "keys" / "w.key"
    name = "regulator.test/witness"
    init = [
        sys.executable,
        "-m",
        "ledger.witness",
        "init",
        "--name",
        name,
        "--key-file",
        str(key_file),
    ]
    vkey = subprocess.run(init, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key_text = key_file.read_text()
    assert (
        subprocess.run(init, cwd=ROOT, check=True, capture_output=True, text=True).stdout == vkey
    ), "an existing key is only printed"
    assert key_file.read_text() == key_text and os.listdir(key_file.parent) == ["w.key"]
    verifier = Verifier.from_vkey(vkey.strip())
    assert verifier.name == name and verifier.sig_type == COSIGNATURE_V1

    port = free_port()
    serve = [
        sys.executable,
        "-m",
        "ledger.witness",
        "serve",
        "--name",
        name,
        "--key-file",
        str(key_file),
        "--log-vkey",
        log_key.verifier.vkey(),
        "--origin",
        ORIGIN,
        "--db",
        str(tmp_path / "state.db"),
        "--port",
        str(port),
    ]
    missing = subprocess.run(
        serve[:7] + [str(tmp_path / "nope.key")] + serve[8:],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "init" in missing.stderr
    server = subprocess.Popen(serve, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=30)
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert json.loads(health.text) == {"status": "ok", "name": name, "vkey": vkey.strip()}
        log = build(tmp_path / "a.db", numbered("e", 0, 9))
        client = WitnessClient(name, f"http://127.0.0.1:{port}", verifier)
        line = client.cosign(log, 9, note_for(log, 9, log_key))
        assert verifier.verify_line(Checkpoint(ORIGIN, 9, log.root(9)).body(), line)
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
