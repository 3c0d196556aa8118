"""The confirmed digests of a list, in memory: :class:`ConfirmedIndex`, 24 bytes a contact.

An incremental export asks, for every planned contact, "is this what the state confirmed?".
Asking the state per batch costs an indexed query per contact (about 7 µs in SQLite). When the
list state can hand over all its digests (:class:`~acexport._state.ScanningListState`) and
there are not too many, they are read once into this index: one 8-byte BLAKE2b of the
lowercased email and the 16-byte digest per contact, appended to one of 32,768 ``bytearray``
buckets; a look-up scans one bucket with ``bytearray.find`` (a C loop).

Two emails sharing an 8-byte hash (odds about ``n**2 / 2**65``: 3e-8 for a million) can only
make a contact look *changed* (the digests of two different emails differ), so it is sent
again: never the other way round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["MAX_INDEXED", "ConfirmedIndex"]

#: Above this many confirmed contacts the exporter asks the state per batch instead
#: (the index would take more than about 100 MB).
MAX_INDEXED = 4_000_000

_blake2b = hashlib.blake2b
_BITS = 15
_ENTRY = 24


class ConfirmedIndex:
    """``get(email)``: the confirmed digest of a lowercased email, or None."""

    __slots__ = ("_buckets", "count")

    def __init__(self) -> None:
        self._buckets: list[bytearray | None] = [None] * (1 << _BITS)
        self.count = 0

    def add_all(self, rows: Iterable[tuple[str, bytes]]) -> None:
        buckets, blake2b = self._buckets, _blake2b
        n = 0
        for email, digest in rows:
            key = blake2b(email.encode(), digest_size=8).digest()
            i = (key[0] << 7) | (key[1] >> 1)
            bucket = buckets[i]
            if bucket is None:
                buckets[i] = bytearray(key + digest)
            else:
                bucket += key
                bucket += digest
            n += 1
        self.count += n

    def get(self, email: str, default: bytes | None = None) -> bytes | None:
        key = _blake2b(email.encode(), digest_size=8).digest()
        bucket = self._buckets[(key[0] << 7) | (key[1] >> 1)]
        if bucket is None:
            return default
        pos = bucket.find(key)
        while pos != -1:
            if pos % _ENTRY == 0:
                return bytes(bucket[pos + 8 : pos + _ENTRY])
            pos = bucket.find(key, pos + 1)
        return default

    def __bool__(self) -> bool:
        return True  # an empty index still answers (nothing confirmed): not "no answer"
