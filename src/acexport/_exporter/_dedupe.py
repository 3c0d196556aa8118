"""Dedupe by email in about 20 bytes per address: :class:`SeenEmails`."""

from __future__ import annotations

import hashlib

__all__ = ["SeenEmails"]

_blake2b = hashlib.blake2b


class SeenEmails:
    """The emails planned so far, case-insensitively, in about 20 bytes each.

    Each address is kept as the 16-byte BLAKE2b digest of its lowercased form, appended to one
    of 32,768 ``bytearray`` buckets chosen by the digest's first 15 bits; a lookup scans one
    bucket with ``bytearray.find`` (a C loop) and only accepts 16-byte-aligned hits. Measured
    with ``tracemalloc`` over 1,000,000 unique addresses: 19 bytes per unique email
    (16 of digest plus the buckets' over-allocation and headers; up to ~35 bytes each for
    exports of around 100,000 emails, where the buckets' fixed cost dominates). A ``set`` of
    the digests as ``int`` costs ~78 bytes per email, a set of the lowercased strings ~105
    for 20-character addresses.

    Two different addresses share a digest with odds of about ``n**2 / 2**129``: around 1e-27
    for a million addresses. Such a collision would only make the second address count as a
    duplicate.
    """

    __slots__ = ("_buckets", "count")

    _BITS = 15

    def __init__(self) -> None:
        self._buckets: list[bytearray | None] = [None] * (1 << self._BITS)
        self.count = 0

    def add(self, email: str) -> bool:
        """Record ``email``; False when it (compared case-insensitively) was already there."""
        digest = _blake2b(email.lower().encode(), digest_size=16).digest()
        i = (digest[0] << 7) | (digest[1] >> 1)
        bucket = self._buckets[i]
        if bucket is None:
            self._buckets[i] = bytearray(digest)
        else:
            pos = bucket.find(digest)
            while pos != -1 and pos & 15:  # a match straddling two digests is not one
                pos = bucket.find(digest, pos + 1)
            if pos != -1:
                return False
            bucket += digest
        self.count += 1
        return True

    def __contains__(self, email: object) -> bool:
        """Whether ``email`` (compared case-insensitively) was added; never adds it."""
        if not isinstance(email, str):
            return False
        digest = _blake2b(email.lower().encode(), digest_size=16).digest()
        bucket = self._buckets[(digest[0] << 7) | (digest[1] >> 1)]
        if bucket is None:
            return False
        pos = bucket.find(digest)
        while pos != -1 and pos & 15:
            pos = bucket.find(digest, pos + 1)
        return pos != -1

    def __len__(self) -> int:
        return self.count
