"""The pure half of the seam that the sync and async callers share.

A *caller* (:class:`~acexport._caller.Caller`, :class:`~acexport._async_caller.AsyncCaller`)
is the one object between the clients and everything built on them: the clients' resources,
the exporter, the state and membership work. It runs one :class:`~._core._operations.Operation`
(``run``), pages through a listing (``pages``), tells the time (``now``), sleeps (``sleep``)
and says how long until the bulk-import budget has a slot (``bulk_wait``). Code above the
clients reaches it only through :func:`acexport._client.caller_of` /
:func:`acexport._async_client.caller_of`, never through a client's private members.

:class:`CallerBase` holds what needs no I/O: the resolved settings, the headers, the retry
policy, the rate limiter and the request counter. The subclasses add the HTTP client and the
sleep, and drive :func:`acexport._core._call.call` with them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Generator
from typing import TypeVar

import attrs
import httpx

from ._config import ClientConfig
from ._core._call import Sleep, call
from ._core._operations import Operation
from ._core._ratelimit import RateLimiter
from ._core._retry import RetryPolicy
from ._version import __version__

__all__ = ["DEFAULT_TIMEOUT", "CallerBase", "Limits"]

T = TypeVar("T")
#: Seconds one attempt of a request may take in all: connect, send, wait and read the answer.
DEFAULT_TIMEOUT = 30.0


@attrs.frozen
class Limits:
    """The account limits a caller paces itself to (None: that limit is off)."""

    requests_per_second: float | None
    bulk_imports_per_minute: float | None


class CallerBase:
    """Settings and pure machinery of one caller; the subclasses add the I/O."""

    def __init__(self, config: ClientConfig, clock: Callable[[], float] | None) -> None:
        self.config = config
        self.clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self.limits = Limits(config.requests_per_second, config.bulk_imports_per_minute)
        self._headers = {
            "Api-Token": config.api_key,
            "Accept": "application/json",
            "User-Agent": f"acexport/{__version__} httpx/{httpx.__version__}",
        }
        self._policy = RetryPolicy(max_retries=config.max_retries, max_wait=config.max_retry_wait)
        self._limiter = RateLimiter(
            requests_per_second=config.requests_per_second,
            bulk_imports_per_minute=config.bulk_imports_per_minute,
            clock=self.clock,
        )
        self._counter = itertools.count(1)
        self.requests_made = 0

    @property
    def api_url(self) -> str:
        """The API's base URL, normalised to ``https://host/api/3``."""
        return self.config.base_url

    def now(self) -> float:
        """The caller's clock (monotonic seconds; a virtual clock in tests)."""
        return self.clock()

    def bulk_wait(self) -> float:
        """Seconds until a multi-contact bulk import could go, without taking the slot."""
        return self._limiter.peek("bulk")

    def _steps(
        self, op: Operation[T], on_send: Callable[[], None] | None
    ) -> Generator[Sleep | httpx.Request, httpx.Response | None, T]:
        def sent() -> None:
            # itertools.count is atomic under the GIL: safe across threads without a lock.
            self.requests_made = next(self._counter)
            if on_send is not None:
                on_send()

        return call(
            op,
            base_url=self.config.base_url,
            headers=self._headers,
            timeout=self.config.timeout,
            limiter=self._limiter,
            policy=self._policy,
            wall_clock=time.time,
            on_send=sent,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self.config.base_url!r})"
