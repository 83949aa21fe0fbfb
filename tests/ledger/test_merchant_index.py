"""The log's index of entries by merchant: filled with the entries, backfilled once for a log
written before it existed, and paged newest first by index."""

from __future__ import annotations

import sqlite3

import pytest

from ledger import Ledger
from ledger.entry import build_entry, merchant_of, parse_entry, summarise
from ledger.notary import Notary
from ledger.note import Signer


def event(i: int, merchant: str | None, **data) -> dict:
    return {
        "event_id": f"e-{i}",
        "type": "escrow.RedemptionConfirmed.v1",
        "source": "escrow",
        "stream": f"card-{i}",
        "version": 1,
        "recorded_at": f"2026-11-22T09:{i % 60:02d}:00+00:00",
        "data": {"card_id": f"card-{i}", "consumer_id": "c-9", **data}
        | ({"merchant_id": merchant} if merchant else {}),
    }


def items(events: list[dict]) -> list[tuple[str, dict]]:
    return [(e["event_id"], summarise(e)) for e in events]


def merchant_of_index(i: int) -> str | None:
    return None if i % 5 == 4 else f"m-{i % 2}"


def test_entries_are_indexed_by_merchant_as_they_are_appended(tmp_path):
    log = Ledger.open(tmp_path / "l.db")
    events = [event(i, merchant_of_index(i)) for i in range(30)]
    log.append_batch(items(events[:13]), build=build_entry)
    log.append_batch(items(events[13:]), build=build_entry)
    log.append_batch([b"not an entry", ("e-0", summarise(events[0]))], build=lambda i, p, x: x)

    # An entry appended as bytes is read for its merchant.
    assert log.append(build_entry(31, log.leaf(30), summarise(event(31, "m-1")))) == 31

    expected = [i for i in range(30) if merchant_of_index(i) == "m-1"] + [31]
    assert [index for index, _ in log.merchant_entries("m-1", limit=100)] == expected[::-1]
    assert log.merchant_entries("m-1", before=expected[-1], limit=3) == [
        (i, log.entry(i)) for i in expected[-2:-5:-1]
    ]
    assert log.merchant_entries("m-nobody") == []
    assert log.merchant_indexed() == log.size == 32


def test_an_older_log_is_indexed_once_when_opened(tmp_path):
    path = tmp_path / "old.db"
    log = Ledger.open(path)
    log.append_batch(items([event(i, merchant_of_index(i)) for i in range(23)]), build=build_entry)
    log.close()
    # As a log written before the index: no index rows, no meta row.
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE merchant_postings")
        conn.execute("DROP TABLE meta")

    log = Ledger.open(path)
    assert log.merchant_indexed() == 23
    m0 = [i for i in range(23) if merchant_of_index(i) == "m-0"]
    assert [index for index, _ in log.merchant_entries("m-0")] == m0[::-1]
    assert log.index_merchants() == 0  # nothing left: idempotent
    log.append_batch(items([event(23, "m-0")]), build=build_entry)
    assert [index for index, _ in log.merchant_entries("m-0", limit=1)] == [23]
    log.close()

    # A backfill interrupted after a chunk resumes where its meta row says.
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM merchant_postings")
        conn.execute("DELETE FROM meta")
    log = Ledger(sqlite3.connect(path, isolation_level=None, check_same_thread=False), str(path))
    log.index_merchants(chunk=10)
    log.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM merchant_postings WHERE first_idx >= 10")
        conn.execute("UPDATE meta SET value = 10")
    log = Ledger.open(path)
    assert [index for index, _ in log.merchant_entries("m-0")] == [23, *m0[::-1]]
    assert log.index_merchants(chunk=4) == 0


def test_indexes_held_in_memory_are_written_together_and_rebuilt_after_a_crash(tmp_path):
    path = tmp_path / "l.db"
    log = Ledger.open(path)
    for i in range(6):
        log.append_batch(items([event(i, merchant_of_index(i))]), build=build_entry)
    # Appends wrote no index rows: the index is written in one go when it is read.
    assert log.merchant_indexed() == 0
    assert [index for index, _ in log.merchant_entries("m-1")] == [5, 3, 1]
    assert log.merchant_indexed() == 6
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM merchant_postings").fetchone() == (2,)

    # The process dies with entries 6..8 appended and their indexes only in memory.
    log.append_batch(items([event(i, "m-1") for i in range(6, 9)]), build=build_entry)
    reopened = Ledger.open(path)
    assert [index for index, _ in reopened.merchant_entries("m-1")] == [8, 7, 6, 5, 3, 1]
    assert [index for index, _ in reopened.merchant_entries("m-1", before=7, limit=2)] == [6, 5]


def test_a_log_with_the_older_row_per_entry_index_is_indexed_again(tmp_path):
    path = tmp_path / "l.db"
    log = Ledger.open(path)
    log.append_batch(items([event(i, "m-3") for i in range(4)]), build=build_entry)
    log.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE merchant_postings")
        conn.execute("DELETE FROM meta")
        conn.execute("CREATE TABLE merchant_entries (merchant_id TEXT, idx INTEGER)")
        conn.execute("INSERT INTO meta VALUES ('merchant_entries_size', 4)")
    log = Ledger.open(path)
    assert [index for index, _ in log.merchant_entries("m-3")] == [3, 2, 1, 0]
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "merchant_entries" not in tables


def test_the_backfill_goes_chunk_by_chunk(tmp_path):
    path = tmp_path / "old.db"
    log = Ledger.open(path)
    log.append_batch(items([event(i, "m-7") for i in range(10)]), build=build_entry)
    log.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM merchant_postings")
        conn.execute("DELETE FROM meta")
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    log = Ledger(conn, str(path))
    assert log.merchant_entries("m-7") == []
    assert log.index_merchants(chunk=3) == 10
    assert [index for index, _ in log.merchant_entries("m-7")] == list(range(9, -1, -1))


def test_the_notary_pages_a_merchants_published_entries_newest_first(tmp_path):
    log = Ledger.open(tmp_path / "l.db")
    notary = Notary(log, Signer.generate("prepaid.test/ledger"))
    events = [event(i, merchant_of_index(i), amount=100 + i) for i in range(20)]
    events.append(event(20, "m-1", refund_amount=555, price=900))
    events.append(event(21, "m-1"))
    notary.notarise(events)

    pages, after = [], ""
    while True:
        page = notary.merchant_entries("m-1", after, 4)
        pages.append(page["items"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    listed = [item for page in pages for item in page]
    expected = [i for i in range(22) if i >= 20 or merchant_of_index(i) == "m-1"][::-1]
    assert [item["index"] for item in listed] == expected
    assert [len(page) for page in pages] == [4, 4, 2]
    newest, refund, oldest = listed[0], listed[1], listed[-1]
    assert newest == {
        "index": 21,
        "event_id": "e-21",
        "type": "escrow.RedemptionConfirmed.v1",
        "at": "2026-11-22T09:21:00+00:00",
    }
    assert refund["amount"] == 555  # the refund, not the price
    assert oldest == {
        "index": 1,
        "event_id": "e-1",
        "type": "escrow.RedemptionConfirmed.v1",
        "at": "2026-11-22T09:01:00+00:00",
        "amount": 101,
    }
    assert all("parties" not in item and "c-9" not in str(item) for item in listed)


def test_only_entries_under_the_published_checkpoint_are_listed(tmp_path):
    log = Ledger.open(tmp_path / "l.db")
    notary = Notary(log, Signer.generate("prepaid.test/ledger"))
    assert notary.merchant_entries("m-1") == {"items": [], "next_after": None}
    notary.notarise([event(0, "m-1")])
    log.append_batch(items([event(1, "m-1")]), build=build_entry)  # no checkpoint
    assert [item["index"] for item in notary.merchant_entries("m-1")["items"]] == [0]
    assert notary.merchant_entries("m-1", "1", 10)["items"][0]["index"] == 0


@pytest.mark.parametrize(
    "data",
    [
        {"merchant_id": "m-1"},
        {"merchant_id": "商户-一"},
        {"merchant_id": 'm"x', "card_id": '"parties":{"merchant_id":"evil"}'},
        {"card_id": '","parties":{"merchant_id":"evil"},"v":1}'},
        {"merchant_id": ""},
        {"merchant_id": 7, "amount": 5},
        {},
    ],
)
def test_the_merchant_read_from_bytes_is_the_entrys_own(data):
    summary = summarise(
        {**event(0, None), "stream": '"parties":{"merchant_id":"evil"}', "data": data}
    )
    entry = build_entry(3, b"\x00" * 32, summary)
    named = parse_entry(entry)["parties"].get("merchant_id")
    expected = named if isinstance(named, str) and named else None
    assert merchant_of(entry) == merchant_of(summary) == expected


def test_bytes_that_are_not_an_entry_name_no_merchant():
    for raw in (b"", b"hello", b'{"parties":{"merchant_id":"m"},"v":2}', b"\xff\xfe", b"[1]"):
        assert merchant_of(raw) is None
    assert merchant_of(b'{"parties":{"merchant_id":"m"},"v":1}') == "m"
