"""Client-side rate limits: never sleeps, never reads a clock it was not given.

ActiveCampaign allows 5 requests a second per account, and 100 multi-contact (20
single-contact) bulk imports a minute. A :class:`RateLimiter` hands out *reservations*: the
caller asks for a slot now and is told how long to wait before using it. Reserving under a lock
and sleeping outside it makes one limiter safe to share between threads (sync client) and tasks
(async client), and keeps the waiting order first come, first served.

Each bucket is a GCRA (generic cell rate algorithm) with a burst of 1: slots are spaced
``1 / rate`` apart, so in no window of any length does the client send more than the rate allows.
A server counting in fixed or sliding windows therefore never refuses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Literal

from ._limits import SINGLE_BULK_SHARE

__all__ = ["Bucket", "RateLimiter", "RequestKind"]

RequestKind = Literal["general", "bulk", "bulk_single"]


class Bucket:
    """Spaces events ``1 / rate`` seconds apart. Not thread-safe on its own."""

    __slots__ = ("_next", "interval")

    def __init__(self, rate_per_second: float) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate must be > 0, not {rate_per_second!r}")
        self.interval = 1.0 / rate_per_second
        self._next = float("-inf")

    def slot(self, now: float) -> float:
        """The earliest time at or after ``now`` this bucket can take one more event."""
        return max(now, self._next)

    def take(self, at: float) -> None:
        """Record an event at ``at`` (a time returned by :meth:`slot`)."""
        self._next = at + self.interval

    def hold_until(self, when: float) -> None:
        """Give no slot before ``when``."""
        self._next = max(self._next, when)


class RateLimiter:
    """The buckets of one client: general requests, and bulk imports on top of them.

    ``reserve(kind)`` returns the seconds to wait before sending; the slot is taken at once.
    """

    def __init__(
        self,
        *,
        requests_per_second: float | None,
        bulk_imports_per_minute: float | None,
        clock: Callable[[], float],
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._general = Bucket(requests_per_second) if requests_per_second else None
        if bulk_imports_per_minute:
            self._bulk: Bucket | None = Bucket(bulk_imports_per_minute / 60.0)
            # ActiveCampaign allows 20/min single-contact imports against 100/min multi-contact:
            # keep that proportion when the multi-contact rate is changed.
            self._bulk_single: Bucket | None = Bucket(
                bulk_imports_per_minute * SINGLE_BULK_SHARE / 60.0
            )
        else:
            self._bulk = self._bulk_single = None

    def _buckets(self, kind: RequestKind) -> Sequence[Bucket]:
        extra = {"general": None, "bulk": self._bulk, "bulk_single": self._bulk_single}[kind]
        return [b for b in (self._general, extra) if b is not None]

    def reserve(self, kind: RequestKind = "general") -> float:
        """Take the next slot for a request of ``kind``; return the seconds to wait for it."""
        buckets = self._buckets(kind)
        if not buckets:
            return 0.0
        with self._lock:
            now = self._clock()
            at = max(b.slot(now) for b in buckets)
            for b in buckets:
                b.take(at)
        return at - now

    def peek(self, kind: RequestKind = "general") -> float:
        """Seconds until a request of ``kind`` could go, without taking the slot."""
        buckets = self._buckets(kind)
        if not buckets:
            return 0.0
        with self._lock:
            now = self._clock()
            return max(b.slot(now) for b in buckets) - now

    def penalize(self, seconds: float, kind: RequestKind = "general") -> None:
        """Hold every slot of ``kind`` back until ``seconds`` from now (after a refusal).

        A 429 means the account's budget is spent, perhaps by another client on the same
        account; pushing the bucket back keeps this client's other threads and tasks from
        walking into the same refusal.
        """
        buckets = self._buckets(kind)
        with self._lock:
            until = self._clock() + seconds
            for b in buckets:
                b.hold_until(until)
