"""What the sync and async clients share: configuration, limits, retry policy, headers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Generator
from typing import TypeVar

import httpx

from ._config import ClientConfig
from ._core._call import Sleep, call
from ._core._operations import Operation
from ._core._ratelimit import RateLimiter
from ._core._retry import RetryPolicy
from ._version import __version__

__all__ = ["DEFAULT_TIMEOUT", "BaseClient"]

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0


class BaseClient:
    """Settings and pure machinery of one client; the subclasses add the I/O."""

    def __init__(
        self,
        api_url: str | None,
        api_key: str | None,
        *,
        requests_per_second: float | None,
        bulk_imports_per_minute: float | None,
        timeout: float,
        max_retries: int,
        max_retry_wait: float,
    ) -> None:
        self._config = ClientConfig.resolve(
            api_url,
            api_key,
            timeout=timeout,
            requests_per_second=requests_per_second,
            bulk_imports_per_minute=bulk_imports_per_minute,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._headers = {
            "Api-Token": self._config.api_key,
            "Accept": "application/json",
            "User-Agent": f"acexport/{__version__} httpx/{httpx.__version__}",
        }
        self._policy = RetryPolicy(max_retries=max_retries, max_wait=max_retry_wait)
        self._counter = itertools.count()
        self._requests = 0
        self._set_clock(time.monotonic)

    def _set_clock(self, clock: Callable[[], float]) -> None:
        """Use ``clock`` for rate limiting (tests pass a virtual clock)."""
        self._clock = clock
        self._limiter = RateLimiter(
            requests_per_second=self._config.requests_per_second,
            bulk_imports_per_minute=self._config.bulk_imports_per_minute,
            clock=clock,
        )

    @property
    def api_url(self) -> str:
        """The API's base URL, normalised to ``https://host/api/3``."""
        return self._config.base_url

    @property
    def requests_made(self) -> int:
        """HTTP requests this client has sent, retries included."""
        return self._requests

    def _count(self) -> None:
        # itertools.count is atomic under the GIL: safe across threads without a lock.
        self._requests = next(self._counter) + 1

    def _steps(
        self, op: Operation[T], on_send: Callable[[], None] | None = None
    ) -> Generator[Sleep | httpx.Request, httpx.Response | None, T]:
        def sent() -> None:
            self._count()
            if on_send is not None:
                on_send()

        return call(
            op,
            base_url=self._config.base_url,
            headers=self._headers,
            timeout=self._config.timeout,
            limiter=self._limiter,
            policy=self._policy,
            on_send=sent,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self._config.base_url!r})"
