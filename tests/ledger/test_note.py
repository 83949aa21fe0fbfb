import base64

import pytest

from ledger.note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    add_signatures,
    cosignature_time,
    sign_note,
    split_note,
    verified_by,
)


def test_checkpoint_note_round_trip_and_signature():
    log = Signer.generate("prepaid.example/ledger")
    body = Checkpoint("prepaid.example/ledger", 3, bytes(range(32))).body()
    assert body == (
        "prepaid.example/ledger\n3\n" + base64.b64encode(bytes(range(32))).decode() + "\n"
    )
    note = sign_note(body, log)
    assert verified_by(note, [log.verifier]) == {"prepaid.example/ledger"}
    assert Checkpoint.parse(split_note(note)[0]).size == 3

    tampered = note.replace("\n3\n", "\n4\n")
    assert verified_by(tampered, [log.verifier]) == set()
    other = Signer.generate("prepaid.example/ledger")
    assert verified_by(note, [other.verifier]) == set(), "same name, other key"


def test_keys_round_trip_through_their_text_forms():
    signer = Signer.generate("bank.example/witness", COSIGNATURE_V1)
    again = Signer.from_private_text(signer.private_text())
    assert again.verifier == signer.verifier
    assert Verifier.from_vkey(signer.verifier.vkey()) == signer.verifier
    with pytest.raises(NoteError):
        Verifier.from_vkey(signer.verifier.vkey().replace("+", "+0", 1))


def test_cosignature_v1_commits_to_time_and_body():
    log = Signer.generate("log")
    witness = Signer.generate("regulator", COSIGNATURE_V1)
    body = Checkpoint("log", 10, b"\x01" * 32).body()
    line = witness.sign_line(body, timestamp=1_700_000_000)
    assert cosignature_time(line) == 1_700_000_000
    note = add_signatures(sign_note(body, log), [line])
    assert verified_by(note, [log.verifier, witness.verifier]) == {"log", "regulator"}
    forged_time = line[:-20] + ("A" if line[-20] != "A" else "B") + line[-19:]
    assert not witness.verifier.verify_line(body, forged_time)
    assert not witness.verifier.verify_line(body.replace("10", "11"), line)


@pytest.mark.parametrize("body", ["", "origin\n", "o\n01\nAAAA\n", "o\n1\nAAAA\n", "o\n1\n"])
def test_bad_checkpoint_bodies_are_refused(body):
    with pytest.raises(NoteError):
        Checkpoint.parse(body)
