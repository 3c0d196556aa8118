"""One API call as a sans-I/O coroutine: rate limit, send, decode, retry.

:func:`call` is a generator that *yields* what it needs done (``Sleep(seconds)`` or an
``httpx.Request`` to send) and is resumed with the outcome (``gen.send(response)``, or
``gen.throw(transport_error)``); it *returns* the parsed result or raises the final
exception. All the decisions live here, once; the sync and async clients are ~15-line drivers
that only sleep and send. Tests drive it with no network and no clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping
from typing import TypeVar

import attrs
import httpx

from .._exceptions import APIError, RateLimitError, ResponseValidationError
from .._serde import ParseError, describe_parse_error
from ._operations import Operation
from ._ratelimit import RateLimiter
from ._responses import body_text, decode_json, redact, transport_error
from ._retry import RetryPolicy

__all__ = ["Sleep", "call"]

T = TypeVar("T")
logger = logging.getLogger("acexport")


@attrs.frozen
class Sleep:
    """Wait this many seconds, then resume the call."""

    seconds: float


Step = Generator["Sleep | httpx.Request", "httpx.Response | None", T]


def build_request(
    op: Operation[T], *, base_url: str, headers: Mapping[str, str], timeout: float
) -> httpx.Request:
    """The httpx request for ``op``. Pure."""
    request = httpx.Request(
        op.method,
        base_url + op.path,
        params=op.params or None,
        content=op.body,
        headers=headers,
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )
    if op.body is not None:
        request.headers["Content-Type"] = "application/json"
    return request


def parse_response(
    op: Operation[T], request: httpx.Request, response: httpx.Response, *, now: float
) -> T:
    """Decode ``response`` for ``op``: its result, or the exception it stands for.

    Whatever a strange body makes a parser raise (a string where a list belongs, a number too
    large for an int, ...) becomes a :class:`ResponseValidationError`; its message and body have
    the key redacted. ``now`` (``time.time()``) is what a ``Retry-After`` date is measured from.
    """
    data = decode_json(request, response, now=now)
    try:
        return op.parse(data)
    except ParseError as exc:
        problem = describe_parse_error(exc)
    # Raised outside the handler, the data dropped: no chained exception or frame local keeps
    # the body (or a key it echoes).
    del data
    raise ResponseValidationError(
        redact(f"unexpected response body for {op.method} {op.path}: {problem}", request),
        method=request.method,
        url=redact(str(request.url.copy_with(query=None)), request),
        status_code=response.status_code,
        body=body_text(request, response),
    )


def call(
    op: Operation[T],
    *,
    base_url: str,
    headers: Mapping[str, str],
    timeout: float,
    limiter: RateLimiter,
    policy: RetryPolicy,
    wall_clock: Callable[[], float],
    on_send: Callable[[], None] | None = None,
) -> Generator[Sleep | httpx.Request, httpx.Response | None, T]:
    """Run ``op`` to its result, yielding the sleeps and sends it needs. ``wall_clock`` gives
    the time (epoch seconds) a ``Retry-After`` date is measured from."""
    request = build_request(op, base_url=base_url, headers=headers, timeout=timeout)
    del headers  # the key: not a local of this frame, which tracebacks (and their locals) show
    attempt = 0
    waited = 0.0
    while True:
        delay = limiter.reserve(op.kind)
        if delay > 0:
            yield Sleep(delay)
        if on_send is not None:
            on_send()
        error: APIError
        try:
            response = yield request
            assert response is not None
        except httpx.TransportError as exc:
            error = transport_error(request, exc)  # its __cause__: exc, the key redacted
        else:
            logger.debug(
                "%s %s -> %s (attempt %d)", op.method, op.path, response.status_code, attempt + 1
            )
            try:
                return parse_response(op, request, response, now=wall_clock())
            except APIError as exc:
                error = exc
        wait = policy.delay(error, attempt=attempt, waited=waited, idempotent=op.idempotent)
        if wait is None:
            raise error
        if isinstance(error, RateLimitError):
            # Hold this client's other calls back too: the account's budget is spent.
            limiter.penalize(wait, op.kind)
        logger.info(
            "retrying %s %s in %.2fs after %s (retry %d of at most %d)",
            op.method,
            op.path,
            wait,
            _short(error),
            attempt + 1,
            policy.max_retries,
        )
        yield Sleep(wait)
        waited += wait
        attempt += 1


def _short(error: APIError) -> str:
    status = getattr(error, "status_code", None)
    return f"{type(error).__name__} (HTTP {status})" if status else type(error).__name__
