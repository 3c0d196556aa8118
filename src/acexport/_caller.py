"""The synchronous caller: the seam's I/O half, and the one driver of sans-I/O generators.

:func:`drive` runs any generator of this package that yields what it needs done and is resumed
with the outcome: the client's calls (:func:`acexport._core._call.call` yields sleeps and
requests), the exporter's checks and its small-export path (they yield operations).
:class:`Caller` is what the client's resources and the exporter use: ``run``, ``pages``,
``now``, ``sleep``, ``bulk_wait`` (see :mod:`acexport._base`).

Every attempt of a request ends within the client's ``timeout`` in all (connect, send, wait,
read), however slowly the server trickles (:func:`acexport._http.deadline`), and reads at most
:data:`~acexport._http.MAX_RESPONSE_BYTES` of body. The async twin is
:mod:`acexport._async_caller`; ``tests/design/test_twins.py`` keeps the two from drifting apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

import httpx

from ._base import CallerBase
from ._config import ClientConfig
from ._core._call import Sleep
from ._core._operations import Operation, Pager
from ._http import check_body, complete, deadline, deadline_transport, undecodable

__all__ = ["Caller", "drive"]

T = TypeVar("T")
Y = TypeVar("Y")
R = TypeVar("R")


def drive(
    steps: Generator[Y, R, T],
    perform: Callable[[Y], R],
    catch: tuple[type[BaseException], ...] = (),
) -> T:
    """Run ``steps`` to its return value: ``perform`` each step it yields and send it the
    result, or throw into it the exception ``perform`` raised if it is one of ``catch``."""
    try:
        step = next(steps)
        while True:
            try:
                result = perform(step)
            except catch as exc:
                step = steps.throw(exc)
            else:
                step = steps.send(result)
    except StopIteration as done:
        value: T = done.value
        return value
    finally:
        steps.close()


class Caller(CallerBase):
    """Runs operations over an ``httpx.Client``; safe to share between threads."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(config, clock)
        self._sleep: Callable[[float], None] = sleep if sleep is not None else time.sleep
        self._owns_http = http_client is None
        self.http = (
            http_client
            if http_client is not None
            else httpx.Client(
                transport=transport if transport is not None else deadline_transport(),
                timeout=config.timeout,
            )
        )

    def run(self, op: Operation[T], on_send: Callable[[], None] | None = None) -> T:
        """Make ``op``'s call (rate limited, retried) and return its parsed result."""
        return drive(self._steps(op, on_send), self._perform, (httpx.TransportError,))

    def pages(self, pager: Pager[T], on_send: Callable[[], None] | None = None) -> Iterator[T]:
        """Every item of a listing, page after page, fetched as you iterate."""
        op: Operation[Any] | None = pager.first()
        while op is not None:
            page = self.run(op, on_send)
            following = pager.next(op, page)  # checks the page advances before it is used
            yield from page.items
            op = following

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def _perform(self, step: Sleep | httpx.Request) -> httpx.Response | None:
        if isinstance(step, Sleep):
            self._sleep(step.seconds)
            return None
        return self._send(step)

    def _send(self, request: httpx.Request) -> httpx.Response:
        until = time.monotonic() + self.config.timeout
        with deadline(until):
            response = self.http.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    check_body(request, response, len(body), until)
            except httpx.DecodingError:
                raise undecodable(request, response) from None
            finally:
                response.close()
        return complete(response, body)
