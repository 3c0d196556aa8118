"""The sans-I/O call coroutine, driven by hand: no socket, no clock, no sleep."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import httpx
import pytest

from acexport import APIConnectionError, NotFoundError, RateLimitError, ServerError
from acexport._core import _operations as ops
from acexport._core._call import Sleep, call
from acexport._core._ratelimit import RateLimiter
from acexport._core._retry import RetryPolicy

Steps = Generator["Sleep | httpx.Request", "httpx.Response | None", Any]


def _steps(op: ops.Operation[Any], *, retries: int = 3, rps: float | None = None) -> Steps:
    now = [0.0]
    limiter = RateLimiter(
        requests_per_second=rps, bulk_imports_per_minute=None, clock=lambda: now[0]
    )
    return call(
        op,
        base_url="https://acct.api-us1.com/api/3",
        headers={"Api-Token": "KEY-123"},
        timeout=5.0,
        limiter=limiter,
        policy=RetryPolicy(max_retries=retries, max_wait=100),
        wall_clock=lambda: 1_700_000_000.0,
    )


def _resp(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


def _run(
    steps: Steps, outcomes: list[httpx.Response | Exception]
) -> tuple[Any, list[Sleep | httpx.Request]]:
    seen: list[Sleep | httpx.Request] = []
    step = next(steps)
    try:
        while True:
            seen.append(step)
            if isinstance(step, Sleep):
                step = steps.send(None)
                continue
            outcome = outcomes.pop(0)
            step = steps.throw(outcome) if isinstance(outcome, Exception) else steps.send(outcome)
    except StopIteration as done:
        return done.value, seen


def test_builds_the_request() -> None:
    steps = _steps(ops.sync_contact("a@b.co", first_name="A", fields={3: "x"}))
    request = next(steps)
    assert isinstance(request, httpx.Request)
    assert request.method == "POST"
    assert str(request.url) == "https://acct.api-us1.com/api/3/contact/sync"
    assert request.headers["Api-Token"] == "KEY-123"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "contact": {
            "email": "a@b.co",
            "firstName": "A",
            "fieldValues": [{"field": "3", "value": "x"}],
        }
    }
    assert request.extensions["timeout"]["read"] == 5.0


def test_parses_success() -> None:
    body = {
        "contact": {"id": "10", "email": "a@b.co", "firstName": "A", "lastName": None, "phone": ""}
    }
    contact, seen = _run(_steps(ops.sync_contact("a@b.co")), [_resp(201, body)])
    assert contact.id == 10
    assert contact.last_name == ""
    assert len(seen) == 1


def test_retries_429_after_retry_after_then_succeeds() -> None:
    outcomes: list[httpx.Response | Exception] = [
        _resp(429, {}, {"Retry-After": "2"}),
        _resp(503, {}),
        _resp(200, {"user": {"id": "1", "username": "u", "email": "u@x.co"}}),
    ]
    user, seen = _run(_steps(ops.users_me()), outcomes)
    assert user.id == 1
    sleeps = [s.seconds for s in seen if isinstance(s, Sleep)]
    assert sleeps[0] >= 2.0  # Retry-After honoured, never shortened
    assert len([s for s in seen if isinstance(s, httpx.Request)]) == 3


def test_reset_is_retried_only_when_idempotent() -> None:
    body = {"contact": {"id": "1", "email": "a@b.co"}}
    result, _ = _run(
        _steps(ops.sync_contact("a@b.co")), [httpx.ReadError("reset"), _resp(200, body)]
    )
    assert result.id == 1
    with pytest.raises(APIConnectionError) as info:
        _run(_steps(ops.create_tag("vip")), [httpx.ReadError("reset")])
    assert isinstance(info.value.__cause__, httpx.ReadError)


def test_connect_error_is_retried_even_when_not_idempotent() -> None:
    body = {"tag": {"id": "4", "tag": "vip"}}
    tag, _ = _run(_steps(ops.create_tag("vip")), [httpx.ConnectError("refused"), _resp(201, body)])
    assert tag.id == 4


def test_gives_up_after_max_retries() -> None:
    with pytest.raises(ServerError):
        _run(_steps(ops.users_me(), retries=2), [_resp(503, {})] * 3)


def test_rate_limit_error_raised_when_retries_run_out() -> None:
    with pytest.raises(RateLimitError) as info:
        _run(_steps(ops.users_me(), retries=0), [_resp(429, {}, {"Retry-After": "5"})])
    assert info.value.retry_after == 5.0


def test_404_is_not_retried() -> None:
    with pytest.raises(NotFoundError):
        _run(
            _steps(ops.get_list(7)),
            [_resp(404, {"message": "No Result found for _List with id 7"})],
        )


def test_rate_limiter_sleeps_come_first() -> None:
    steps = _steps(ops.users_me(), rps=1)
    assert isinstance(next(steps), httpx.Request)  # first slot is free
    steps.close()


def test_a_connection_that_cannot_recover_is_raised_at_once() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    outcomes: list[httpx.Response | Exception] = [refused, _resp(200, {"user": {"id": "1"}})]
    with pytest.raises(APIConnectionError, match="connection refused") as info:
        _run(_steps(ops.users_me(), retries=5), outcomes)
    assert info.value.recoverable is False
    assert len(outcomes) == 1  # one attempt, no retry


def test_a_body_no_parser_can_read_is_retried_like_any_invalid_2xx() -> None:
    infinity = httpx.Response(200, content=b'{"status":"completed","success":[Infinity]}')
    ok = _resp(200, {"status": "completed", "success": ["3"], "failure": []})
    info, seen = _run(_steps(ops.import_info("b")), [infinity, ok])
    assert info.succeeded_ids == (3,)
    assert [type(s).__name__ for s in seen] == ["Request", "Sleep", "Request"]
