"""The asynchronous caller: the twin of :mod:`acexport._caller`, awaited (asyncio or trio).

:func:`adrive` and :class:`AsyncCaller` mirror :func:`~acexport._caller.drive` and
:class:`~acexport._caller.Caller` line for line; ``tests/design/test_twins.py`` diffs the two
modules and allows only the differences listed there. Every attempt of a request ends within the
client's ``timeout`` in all: here a cancel scope around the whole attempt enforces it, whatever
``http_client`` or ``transport`` is used.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, TypeVar

import anyio
import httpx

from ._base import CallerBase
from ._config import ClientConfig
from ._core._call import Sleep
from ._core._operations import Operation, Pager
from ._http import cancel_after, check_body, complete, undecodable

__all__ = ["AsyncCaller", "adrive"]

T = TypeVar("T")
Y = TypeVar("Y")
R = TypeVar("R")


async def adrive(
    steps: Generator[Y, R, T],
    perform: Callable[[Y], Awaitable[R]],
    catch: tuple[type[BaseException], ...] = (),
) -> T:
    """Run ``steps`` to its return value: ``perform`` each step it yields and send it the
    result, or throw into it the exception ``perform`` raised if it is one of ``catch``."""
    try:
        step = next(steps)
        while True:
            try:
                result = await perform(step)
            except catch as exc:
                step = steps.throw(exc)
            else:
                step = steps.send(result)
    except StopIteration as done:
        value: T = done.value
        return value
    finally:
        steps.close()


class AsyncCaller(CallerBase):
    """Runs operations over an ``httpx.AsyncClient``; safe to share between tasks."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(config, clock)
        self._sleep: Callable[[float], Awaitable[None]] = (
            sleep if sleep is not None else anyio.sleep
        )
        self._owns_http = http_client is None
        self.http = (
            http_client
            if http_client is not None
            else httpx.AsyncClient(transport=transport, timeout=config.timeout)
        )

    async def run(self, op: Operation[T], on_send: Callable[[], None] | None = None) -> T:
        """Make ``op``'s call (rate limited, retried) and return its parsed result."""
        return await adrive(self._steps(op, on_send), self._perform, (httpx.TransportError,))

    async def pages(
        self, pager: Pager[T], on_send: Callable[[], None] | None = None
    ) -> AsyncIterator[T]:
        """Every item of a listing, page after page, fetched as you iterate."""
        op: Operation[Any] | None = pager.first()
        while op is not None:
            page = await self.run(op, on_send)
            following = pager.next(op, page)  # checks the page advances before it is used
            for item in page.items:
                yield item
            op = following

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    async def close(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def _perform(self, step: Sleep | httpx.Request) -> httpx.Response | None:
        if isinstance(step, Sleep):
            await self._sleep(step.seconds)
            return None
        return await self._send(step)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        until = time.monotonic() + self.config.timeout
        with cancel_after(request, self.config.timeout):
            response = await self.http.send(request, stream=True)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    check_body(request, response, len(body), until)
            except httpx.DecodingError:
                raise undecodable(request, response) from None
            finally:
                await response.aclose()
        return complete(response, body)
