"""The API key never appears in a repr, an exception, a log line or a traceback."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from acexport import ACExportError, ActiveCampaign, AsyncActiveCampaign, ConfigError
from acexport._async_client import caller_of as async_caller_of
from acexport._client import caller_of
from acexport.testing import FakeActiveCampaign, VirtualClock
from helpers import KEY, make_async_client, make_client


def _text_of(exc: BaseException) -> str:
    parts = [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    ]
    cause = exc.__cause__
    while cause is not None:
        parts += [str(cause), repr(cause)]
        cause = cause.__cause__
    return "\n".join(parts)


def test_reprs_hide_the_key() -> None:
    with ActiveCampaign("https://acct.api-us1.com", KEY) as client:
        assert KEY not in repr(client)
        assert KEY not in repr(caller_of(client).config)
        assert KEY not in str(client)
    aclient = AsyncActiveCampaign("https://acct.api-us1.com", KEY)
    assert KEY not in repr(aclient)


FAULTS = [503, 429, "reset_before", "reset_after", "html", "truncated", 500]


@pytest.mark.parametrize("fault", FAULTS)
def test_no_key_on_any_error_path(
    fault: object, fake: FakeActiveCampaign, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(fake, clock, max_retries=1)
    fake.faults.queue(fault, times=10)  # type: ignore[arg-type]
    with pytest.raises(ACExportError) as info:
        client.contacts.sync("a@example.com")
    client.close()
    assert KEY not in _text_of(info.value)
    assert KEY not in caplog.text
    assert caplog.records  # the retries were logged, without the key


def test_no_key_when_the_key_is_refused(
    clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    other = FakeActiveCampaign(api_key="a-different-key", clock=clock)
    client = make_client(other, clock)
    with pytest.raises(ACExportError) as info:
        client.users.me()
    client.close()
    assert getattr(info.value, "status_code", None) == 403
    assert KEY not in _text_of(info.value)
    assert KEY not in caplog.text


@pytest.mark.anyio
async def test_no_key_on_async_error_paths(
    fake: FakeActiveCampaign, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_async_client(fake, clock, max_retries=2)
    fake.faults.queue("reset_after", times=10)
    with pytest.raises(ACExportError) as info:
        await client.contacts.sync("a@example.com")
    await client.close()
    assert KEY not in _text_of(info.value)
    assert KEY not in caplog.text


@pytest.mark.integration
def test_no_key_when_the_connection_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = ActiveCampaign("http://127.0.0.1:9", KEY, max_retries=1, max_retry_wait=0.5)
    with pytest.raises(ACExportError) as info:
        client.users.me()
    client.close()
    assert KEY not in _text_of(info.value)
    assert KEY not in caplog.text


def test_config_errors_never_echo_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        ActiveCampaign("http://example.com", KEY)
    assert KEY not in _text_of(info.value)


def test_httpx_request_repr_does_not_show_headers() -> None:
    # The request objects we build travel inside httpx exceptions as __cause__.request.
    req = httpx.Request(
        "GET", "https://acct.api-us1.com/api/3/users/me", headers={"Api-Token": KEY}
    )
    assert KEY not in repr(req)


# --- a server that echoes the key back ---------------------------------------------------------


def _echo(request: httpx.Request, scenario: str) -> httpx.Response:
    key = request.headers["Api-Token"]
    if scenario == "400 errors":
        body = {"errors": [{"title": f"bad {key}", "detail": key.upper()}], "message": key}
        return httpx.Response(400, json=body)
    if scenario == "403 message":
        return httpx.Response(403, json={"message": f"Api-Token {key} refused"})
    if scenario == "503 text":
        return httpx.Response(503, text=f"<html>upstream said {key}</html>")
    if scenario == "429 bulk":
        return httpx.Response(
            400, json={"success": 0, "message": "Rate limit exceeded.", "failureReasons": [key]}
        )
    if scenario == "200 html":
        return httpx.Response(200, text=f"<html>log in again ({key})</html>")
    if scenario == "200 shape":
        return httpx.Response(200, json={"user": {"id": key, "username": key, "email": key}})
    if scenario == "301":
        return httpx.Response(301, headers={"Location": f"https://evil.example/?token={key}"})
    raise httpx.ConnectError(f"proxy refused token {key}", request=request)


ECHO = [
    "400 errors",
    "403 message",
    "503 text",
    "429 bulk",
    "200 html",
    "200 shape",
    "301",
    "connect",
]


def _check_no_key(exc: BaseException, logs: str) -> None:
    text = _text_of(exc)
    for name in ("message", "body", "url"):
        text += str(getattr(exc, name, ""))
    text += "".join(getattr(exc, "errors", ()))
    assert KEY.lower() not in text.lower()
    assert KEY not in logs
    cause = exc.__cause__
    if isinstance(cause, httpx.HTTPError):
        assert cause.request.headers.get("Api-Token") == "[REDACTED]"
        assert cause.__traceback__ is None
    assert KEY not in _frame_locals(exc)


def _frame_locals(exc: BaseException) -> str:
    """The reprs of every local of every frame of ``exc``'s traceback and chain (what an error
    tracker that captures locals would record)."""
    parts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            parts.extend(repr(value) for value in tb.tb_frame.f_locals.values())
            tb = tb.tb_next
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return "\n".join(parts)


@pytest.mark.parametrize("scenario", ECHO)
def test_an_echoed_key_never_reaches_an_exception(
    scenario: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = httpx.MockTransport(lambda request: _echo(request, scenario))
    client = ActiveCampaign(
        "https://acct.api-us1.com",
        KEY,
        requests_per_second=None,
        max_retries=1,
        transport=transport,
        sleep=lambda seconds: None,
    )
    with pytest.raises(ACExportError) as info:
        client.users.me()
    client.close()
    _check_no_key(info.value, caplog.text)
    assert "[REDACTED]" in _text_of(info.value) + str(getattr(info.value, "body", ""))


@pytest.mark.anyio
@pytest.mark.parametrize("scenario", ECHO)
async def test_an_echoed_key_never_reaches_an_async_exception(
    scenario: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = httpx.MockTransport(lambda request: _echo(request, scenario))

    async def no_wait(seconds: float) -> None:
        return None

    client = AsyncActiveCampaign(
        "https://acct.api-us1.com",
        KEY,
        requests_per_second=None,
        max_retries=1,
        transport=transport,
        sleep=no_wait,
    )
    with pytest.raises(ACExportError) as info:
        await client.users.me()
    await client.close()
    _check_no_key(info.value, caplog.text)


@pytest.mark.integration
def test_a_refused_connection_carries_no_key_in_its_cause() -> None:
    client = ActiveCampaign("http://127.0.0.1:9", KEY, max_retries=1, max_retry_wait=0.5)
    with pytest.raises(ACExportError) as info:
        client.users.me()
    client.close()
    cause = info.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert cause.request.headers["Api-Token"] == "[REDACTED]"


@pytest.mark.anyio
async def test_the_clients_own_http_clients_never_follow_redirects() -> None:
    # httpx's default; a 3xx then raises APIStatusError (tests/core/test_hostile_bodies.py).
    with ActiveCampaign("https://acct.api-us1.com", KEY) as client:
        assert caller_of(client).http.follow_redirects is False
    aclient = AsyncActiveCampaign("https://acct.api-us1.com", KEY)
    assert async_caller_of(aclient).http.follow_redirects is False
    await aclient.close()
