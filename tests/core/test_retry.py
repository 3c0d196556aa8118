from __future__ import annotations

import random

import httpx
import pytest

from acexport import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from acexport._core._retry import RetryPolicy, is_retryable

KW = {"method": "GET", "url": "https://x/api/3/contacts"}


def _status(cls: type[APIError], code: int, **extra: object) -> APIError:
    return cls("m", status_code=code, **KW, **extra)  # type: ignore[call-arg]


def _conn(
    cause: Exception, cls: type[APIConnectionError] = APIConnectionError
) -> APIConnectionError:
    err = cls("m", **KW)
    err.__cause__ = cause
    return err


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (_status(RateLimitError, 429), False, True),
        (_status(RateLimitError, 400), False, True),
        (_status(ServerError, 500), False, True),
        (_status(ServerError, 502), False, True),
        (_status(ServerError, 503), False, True),
        (_status(ServerError, 504), False, True),
        (_status(ServerError, 501), True, False),
        (_status(BadRequestError, 400), True, False),
        (_status(AuthenticationError, 401), True, False),
        (_status(AuthenticationError, 403), True, False),
        (_status(NotFoundError, 404), True, False),
        (_status(UnprocessableEntityError, 422), True, False),
        (_conn(httpx.ConnectError("refused")), False, True),
        (APIConnectionError("m", **KW, recoverable=False), True, False),
        (APIConnectionError("m", **KW, recoverable=False), False, False),
        (_conn(httpx.ConnectTimeout("t"), APITimeoutError), False, True),
        (_conn(httpx.ReadError("reset")), False, False),
        (_conn(httpx.ReadError("reset")), True, True),
        (_conn(httpx.ReadTimeout("t"), APITimeoutError), False, False),
        (_conn(httpx.ReadTimeout("t"), APITimeoutError), True, True),
        (ResponseValidationError("html", status_code=200, body="", **KW), True, True),
        (ResponseValidationError("html", status_code=200, body="", **KW), False, False),
    ],
)
def test_what_is_retried(error: APIError, idempotent: bool, expected: bool) -> None:
    assert is_retryable(error, idempotent=idempotent) is expected


def test_retry_after_is_honoured_exactly() -> None:
    policy = RetryPolicy(max_retries=5, max_wait=100)
    err = _status(RateLimitError, 429, retry_after=7.0)
    assert policy.delay(err, attempt=0, waited=0, idempotent=False) == 7.0
    assert policy.delay(err, attempt=3, waited=50, idempotent=False) == 7.0


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, max_wait=1e9, base=0.5, cap=4.0, rng=random.Random(1))
    err = _status(ServerError, 503)
    for attempt, nominal in enumerate([0.5, 1, 2, 4, 4, 4]):
        wait = policy.delay(err, attempt=attempt, waited=0, idempotent=True)
        assert wait is not None
        assert nominal / 2 <= wait <= nominal


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_retries=2, max_wait=100)
    err = _status(ServerError, 503)
    assert policy.delay(err, attempt=1, waited=0, idempotent=True) is not None
    assert policy.delay(err, attempt=2, waited=0, idempotent=True) is None


def test_total_wait_is_bounded() -> None:
    policy = RetryPolicy(max_retries=50, max_wait=10)
    assert (
        policy.delay(
            _status(RateLimitError, 429, retry_after=6.0), attempt=1, waited=5, idempotent=True
        )
        is None
    )
    assert (
        policy.delay(
            _status(RateLimitError, 429, retry_after=5.0), attempt=1, waited=5, idempotent=True
        )
        == 5.0
    )


def test_never_retried_errors_give_up_at_once() -> None:
    policy = RetryPolicy()
    assert policy.delay(_status(NotFoundError, 404), attempt=0, waited=0, idempotent=True) is None
