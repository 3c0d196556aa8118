"""A settable clock for tests: :class:`VirtualClock`."""

from __future__ import annotations

import threading

import anyio.lowlevel

__all__ = ["VirtualClock"]


class VirtualClock:
    """A monotonic clock that only moves when told to, so tests never wait for real.

    Pass it as the fake's ``clock`` and, where the code under test takes a clock or a sleep
    function, pass the same object (or its :meth:`sleep` / :meth:`asleep`): then rate limits,
    ``Retry-After`` waits and bulk-import processing times all run in virtual time.

    Calling the clock (``clock()``) is the same as :meth:`now`, so it fits anywhere a
    ``Callable[[], float]`` such as :func:`time.monotonic` is expected. Thread-safe.
    """

    def __init__(self, start: float = 0.0) -> None:
        """Start the clock at ``start`` seconds."""
        self._lock = threading.Lock()
        self._now = float(start)

    def now(self) -> float:
        """The current virtual time in seconds."""
        with self._lock:
            return self._now

    def __call__(self) -> float:
        """The current virtual time in seconds (same as :meth:`now`)."""
        return self.now()

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (which must not be negative)."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds!r})")
        with self._lock:
            self._now += float(seconds)

    def sleep(self, seconds: float) -> None:
        """Stand-in for :func:`time.sleep`: advance by ``seconds`` (negative counts as 0)."""
        self.advance(max(0.0, float(seconds)))

    async def asleep(self, seconds: float) -> None:
        """Stand-in for :func:`asyncio.sleep`: advance by ``seconds``, then yield once.

        Yields with ``anyio.lowlevel.checkpoint()``, so it works under asyncio and trio alike.
        """
        self.sleep(seconds)
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        """``VirtualClock(now=...)``."""
        return f"VirtualClock(now={self.now()!r})"
