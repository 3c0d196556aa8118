"""The in-memory index of confirmed digests (``_exporter/_confirmed.py``)."""

from __future__ import annotations

import hashlib

from acexport._exporter._confirmed import ConfirmedIndex


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def test_every_added_row_is_found_and_nothing_else() -> None:
    rows = [(f"p{i}@example.com", _digest(f"row {i}")) for i in range(50_000)]
    index = ConfirmedIndex()
    index.add_all(rows[:25_000])
    index.add_all(rows[25_000:])
    assert index.count == 50_000
    assert all(index.get(email) == digest for email, digest in rows)
    assert index.get("someone.else@example.com") is None
    assert bool(ConfirmedIndex())  # empty, yet an answer: nothing is confirmed


def test_a_digest_that_straddles_two_entries_is_not_a_match() -> None:
    # A key's 8 bytes may appear inside another entry's digest: only aligned hits count.
    index = ConfirmedIndex()
    key = hashlib.blake2b(b"x@example.com", digest_size=8).digest()
    index.add_all([("y@example.com", b"\x00" * 4 + key + b"\x00" * 4)])
    bucket_of_y = hashlib.blake2b(b"y@example.com", digest_size=8).digest()
    if bucket_of_y[:2] == key[:2]:  # same bucket: the straddling copy must not be found
        assert index.get("x@example.com") is None
    assert index.get("x@example.com") is None
