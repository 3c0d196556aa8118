"""The fake's server-side limits and request counters.

:class:`AccountQuota` is the token bucket with which the fake *refuses* requests (429, bulk
import's "Rate limit exceeded."), as ActiveCampaign's servers do; it is unrelated to the client's
own limiter in ``acexport._core._ratelimit``, which paces requests so that they are never refused.
:class:`RequestCounters` are the mutable counters behind the public :class:`FakeStats`.
"""

from __future__ import annotations

import attrs

from ._snapshots import FakeStats

__all__ = ["AccountQuota", "RequestCounters"]


@attrs.define
class AccountQuota:
    """A server-side token bucket: ``capacity`` tokens, refilled continuously at ``per_second``."""

    capacity: float
    per_second: float
    tokens: float
    stamp: float

    @classmethod
    def full(cls, capacity: float, per_second: float, now: float) -> AccountQuota:
        """A quota starting with all its tokens."""
        return cls(capacity, per_second, capacity, now)

    def take(self, now: float) -> float | None:
        """Take a token; ``None`` on success, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.per_second)
        self.stamp = max(self.stamp, now)
        if self.tokens >= 1.0 - 1e-9:
            self.tokens = max(0.0, self.tokens - 1.0)
            return None
        return (1.0 - self.tokens) / self.per_second


@attrs.define
class RequestCounters:
    """Mutable request counters behind :class:`FakeStats`."""

    requests: int = 0
    by_endpoint: dict[tuple[str, str], int] = attrs.Factory(dict)
    refused_403: int = 0
    refused_429: int = 0
    refused_bulk_rate: int = 0
    bulk_requests: int = 0
    bulk_contacts: int = 0
    faults: dict[str, int] = attrs.Factory(dict)
    max_concurrent: int = 0

    def freeze(self) -> FakeStats:
        """A :class:`FakeStats` snapshot."""
        return FakeStats(
            requests=self.requests,
            by_endpoint=self.by_endpoint,
            refused_403=self.refused_403,
            refused_429=self.refused_429,
            refused_bulk_rate=self.refused_bulk_rate,
            bulk_requests=self.bulk_requests,
            bulk_contacts=self.bulk_contacts,
            faults=self.faults,
            max_concurrent=self.max_concurrent,
        )
