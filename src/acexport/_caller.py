"""The synchronous caller: the seam's I/O half, and the one driver of sans-I/O generators.

:func:`drive` runs any generator of this package that yields what it needs done and is resumed
with the outcome: the client's calls (:func:`acexport._core._call.call` yields sleeps and
requests), the exporter's checks and its small-export path (they yield operations).
:class:`Caller` is what the client's resources and the exporter use: ``run``, ``pages``,
``now``, ``sleep``, ``bulk_wait`` (see :mod:`acexport._base`).

Every attempt of a request ends within the client's ``timeout`` in all (connect, send, wait,
read), however slowly the server trickles, and reads at most
:data:`~acexport._base.MAX_RESPONSE_BYTES` of body. The async twin is
:mod:`acexport._async_caller`; ``tests/test_twins.py`` keeps the two from drifting apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

import httpcore
import httpx

from ._base import MAX_RESPONSE_BYTES, CallerBase
from ._config import ClientConfig
from ._core._call import Sleep
from ._core._operations import Operation, Pager
from ._exceptions import ResponseValidationError

__all__ = ["Caller", "check_body", "complete", "drive", "undecodable"]

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
                transport=transport if transport is not None else _deadline_transport(),
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
            yield from page.items
            op = pager.next(op, page)

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
        _deadline.until = until
        try:
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
        finally:
            _deadline.until = None
        return complete(response, body)


def check_body(request: httpx.Request, response: httpx.Response, size: int, until: float) -> None:
    """Stop reading an answer over :data:`MAX_RESPONSE_BYTES` (not retried) or past the
    attempt's deadline (a timeout, retried like one)."""
    if size > MAX_RESPONSE_BYTES:
        raise ResponseValidationError(
            f"the answer to {request.method} {request.url.path} is over "
            f"{MAX_RESPONSE_BYTES:,} bytes; acexport stopped reading it",
            method=request.method,
            url=str(request.url.copy_with(query=None)),
            status_code=response.status_code,
            body="",
        )
    if time.monotonic() > until:
        raise httpx.ReadTimeout("the answer did not arrive within the timeout", request=request)


def undecodable(request: httpx.Request, response: httpx.Response) -> ResponseValidationError:
    return ResponseValidationError(
        f"the answer to {request.method} {request.url.path} could not be decoded "
        "(its Content-Encoding does not match its body)",
        method=request.method,
        url=str(request.url.copy_with(query=None)),
        status_code=response.status_code,
        body="",
    )


def complete(response: httpx.Response, body: bytearray) -> httpx.Response:
    """The answer with its (already decoded) body read, for the pure core to parse."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=response.request
    )


# --- a deadline for every attempt, however slowly the server sends -------------------------
# httpx's timeouts bound each read, not a whole request: a server that sends one byte a second
# never trips them. The client's own transport runs its sockets through this backend, which
# shrinks every read's and write's timeout to what is left of the attempt's deadline. (With an
# ``http_client`` or ``transport`` of your own, the deadline is checked between body chunks.)

_deadline = threading.local()


def _left(timeout: float | None, exc: type[Exception]) -> float | None:
    until: float | None = getattr(_deadline, "until", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise exc("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _deadline_transport() -> httpx.HTTPTransport:
    """httpx's transport with the deadline backend under its connection pool.

    httpx has no public way to give its pool a network backend; where its internals differ
    from what this expects, the transport stays as it is (the deadline is then checked between
    body chunks only). ``tests/reliability/test_hostile_server.py`` holds it to the deadline.
    """
    transport = httpx.HTTPTransport()
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return transport
