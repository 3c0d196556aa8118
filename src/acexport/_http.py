"""What both callers do with httpx, beyond sending: bound an attempt in bytes and in time.

:func:`check_body` stops reading an answer over :data:`MAX_RESPONSE_BYTES` (an acexport error,
not retried) or past the attempt's deadline (a timeout, retried like one); :func:`complete`
gives the pure core the answer with its body read. httpx's own timeouts bound each read, not a
whole request, so a server that sends one byte a second never trips them: the async caller puts
a cancel scope around each attempt; for the sync caller, :func:`deadline_transport` runs the
client's own sockets through a network backend that shrinks every read's and write's timeout to
what is left of the attempt's :func:`deadline`. (With an ``http_client`` or ``transport`` of
your own, the sync deadline is checked between body chunks only.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpcore
import httpx

from ._exceptions import APIConnectionError, ResponseValidationError

__all__ = [
    "MAX_RESPONSE_BYTES",
    "cancel_after",
    "check_body",
    "complete",
    "deadline",
    "deadline_transport",
    "undecodable",
]

#: The most of a response body acexport reads (decoded). ActiveCampaign's largest real
#: answers (a page of 100 contacts, a batch's status with 250 ids) are a few hundred KB.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


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


# --- the async caller's deadline ------------------------------------------------------------


@contextmanager
def cancel_after(request: httpx.Request, seconds: float) -> Iterator[None]:
    """The async caller's deadline: the attempt is cancelled after ``seconds`` (then a
    timeout, as httpx raises it); an httpx client used from a second event loop gives an
    acexport error, not a raw ``RuntimeError``."""
    try:
        with anyio.fail_after(seconds):
            yield
    except TimeoutError:
        raise httpx.ReadTimeout(
            "the answer did not arrive within the timeout", request=request
        ) from None
    except RuntimeError as exc:
        # httpx's connections belong to the event loop that opened them.
        raise APIConnectionError(
            f"the request could not be sent ({type(exc).__name__}: {exc}); an "
            "AsyncActiveCampaign must be used from the event loop it was first used in "
            "(create one client per event loop)",
            method=request.method,
            url=str(request.url.copy_with(query=None)),
        ) from None


# --- the sync caller's deadline --------------------------------------------------------------

_deadline = threading.local()


@contextmanager
def deadline(until: float) -> Iterator[None]:
    """Sockets of :func:`deadline_transport` used in this thread give up at ``until``
    (``time.monotonic()`` seconds)."""
    _deadline.until = until
    try:
        yield
    finally:
        _deadline.until = None


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


def deadline_transport() -> httpx.HTTPTransport:
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
