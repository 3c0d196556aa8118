"""The API key never appears in a repr, an exception, a log line or a traceback."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from acexport import ACExportError, ActiveCampaign, AsyncActiveCampaign, ConfigError
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
        assert KEY not in repr(client._config)
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
    client._http.close()
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
    client._http.close()
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
    await client._http.aclose()
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
