"""Which failures are retried, and how long to wait first. Pure: the caller sleeps.

Retried:

- 429, and bulk import's 400 "Rate limit exceeded." (both raised as :class:`RateLimitError`);
- 500, 502, 503 and 504 (ActiveCampaign answers bursts with 503 too);
- a connection that could not be opened (the request never left), unless it cannot recover
  (``APIConnectionError.recoverable`` is False: unknown host name, connection refused, https://
  to a plain-http port, a certificate that fails verification): that fails at once;
- other transport failures (reset, timeout, protocol error) and a 2xx whose body is not the
  endpoint's JSON, **only** when the operation is idempotent: a reset after sending could mean
  the server applied it.

Never retried: 400 validation, 401, 403, 404, 422, other statuses.

Waits: a ``Retry-After`` the server sent is honoured exactly (no jitter shortens it). Without
one, capped exponential backoff with equal jitter. Both the number of retries and the total
seconds waited for one call are bounded; whichever runs out first ends the retries and the last
error is raised.

This is the only module that imports ``backoff``; swapping it is a one-file change.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import attrs
import backoff
import httpx

from .._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_MAX_RETRY_WAIT", "RetryPolicy", "is_retryable"]

DEFAULT_MAX_RETRIES = 6
DEFAULT_MAX_RETRY_WAIT = 180.0
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


def is_retryable(error: APIError, *, idempotent: bool) -> bool:
    """Whether ``error`` may be retried for an operation that is (or is not) idempotent."""
    if isinstance(error, RateLimitError):
        return True
    if isinstance(error, ServerError):
        return error.status_code in RETRYABLE_STATUS
    if isinstance(error, APIStatusError):
        return False
    if isinstance(error, APIConnectionError):
        if not error.recoverable:
            return False
        return idempotent or isinstance(error.__cause__, (httpx.ConnectError, httpx.ConnectTimeout))
    if isinstance(error, ResponseValidationError):
        return idempotent
    return False


def _backoff_delays(base: float, cap: float) -> Iterator[float]:
    gen = backoff.expo(base=2, factor=base, max_value=cap)
    next(gen)  # backoff's generators must be primed
    while True:
        yield float(gen.send(None))


@attrs.frozen
class RetryPolicy:
    """How many times and how long one call is retried.

    ``max_retries``: retries after the first attempt. ``max_wait``: total seconds slept across
    those retries; a ``Retry-After`` that would exceed it ends the retries at once (the error
    carries ``retry_after``). ``base``/``cap``: exponential backoff without ``Retry-After``.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    max_wait: float = DEFAULT_MAX_RETRY_WAIT
    base: float = 0.5
    cap: float = 16.0
    rng: random.Random = attrs.field(factory=random.Random, repr=False, eq=False)

    def delay(
        self, error: APIError, *, attempt: int, waited: float, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up.

        ``attempt`` counts retries already made (0 after the first failure); ``waited`` is the
        seconds already slept for this call.
        """
        if attempt >= self.max_retries or not is_retryable(error, idempotent=idempotent):
            return None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            wait = max(0.0, error.retry_after)
        else:
            nominal = next(itertools.islice(_backoff_delays(self.base, self.cap), attempt, None))
            # Equal jitter: at least half the nominal delay, so a storm still backs off.
            wait = nominal / 2 + self.rng.uniform(0, nominal / 2)
        if waited + wait > self.max_wait:
            return None
        return wait
