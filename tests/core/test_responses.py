from __future__ import annotations

import json

import httpx
import pytest

from acexport import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from acexport._core._responses import (
    decode_json,
    error_messages,
    parse_retry_after,
    status_error,
    transport_error,
)

NOW = 1445412480.0  # 2015-10-21 07:28:00 GMT
REQUEST = httpx.Request("GET", "https://acct.api-us1.com/api/3/contacts?email=a@b.co")


def _response(
    status: int,
    body: object = None,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = (
        text.encode() if text is not None else (b"" if body is None else json.dumps(body).encode())
    )
    return httpx.Response(status, content=content, headers=headers or {}, request=REQUEST)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "errors": [
                    {
                        "title": "Email address already exists in the system",
                        "detail": "",
                        "code": "duplicate",
                    }
                ]
            },
            ["Email address already exists in the system"],
        ),
        (
            {
                "errors": [
                    {
                        "status": 403,
                        "title": "Forbidden",
                        "detail": "You do not have permission to view lists.",
                    }
                ]
            },
            ["Forbidden: You do not have permission to view lists."],
        ),
        (
            {"message": "No Result found for Subscriber with id 1"},
            ["No Result found for Subscriber with id 1"],
        ),
        (
            {
                "success": 0,
                "message": "JSON payload did not pass validation.",
                "failureReasons": [
                    {"contact": 3, "failureReason": "Field‘ email’ incorrect format"}
                ],
            },
            ["JSON payload did not pass validation.", "contact 3: Field‘ email’ incorrect format"],
        ),
        (
            {
                "success": 0,
                "message": "Rate limit exceeded.",
                "failureReasons": ["Up to 100 imports may be requested per minute."],
            },
            ["Rate limit exceeded.", "Up to 100 imports may be requested per minute."],
        ),
        ({}, []),
        ([], []),
        ("text", []),
        (None, []),
    ],
)
def test_error_messages_from_every_body_shape(body: object, expected: list[str]) -> None:
    assert error_messages(body) == expected


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (402, APIStatusError),
        (409, APIStatusError),
    ],
)
def test_status_maps_to_exception(status: int, cls: type[APIStatusError]) -> None:
    err = status_error(REQUEST, _response(status, {"message": "boom"}), now=NOW)
    assert type(err) is cls
    assert err.status_code == status
    assert err.errors == ("boom",)
    assert err.method == "GET"
    assert err.url == "https://acct.api-us1.com/api/3/contacts"


def test_bulk_rate_limit_400_is_a_rate_limit_error() -> None:
    body = {
        "success": 0,
        "message": "Rate limit exceeded.",
        "failureReasons": ["Up to 100 imports ..."],
    }
    err = status_error(REQUEST, _response(400, body), now=NOW)
    assert isinstance(err, RateLimitError)
    assert err.status_code == 400
    assert err.retry_after is None


def test_429_carries_retry_after() -> None:
    err = status_error(
        REQUEST,
        _response(429, text="Too Many Requests", headers={"Retry-After": "30"}),
        now=NOW,
    )
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 30.0
    assert err.body == "Too Many Requests"


def test_non_json_error_body_is_kept_as_text() -> None:
    err = status_error(REQUEST, _response(502, text="<html>Bad gateway</html>"), now=NOW)
    assert isinstance(err, ServerError)
    assert err.errors == ()
    assert "Bad gateway" in err.body


def test_auth_error_says_what_to_check() -> None:
    err = status_error(REQUEST, _response(403, {"message": "Forbidden"}), now=NOW)
    assert "ACTIVECAMPAIGN_API_KEY" in str(err)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"retry-after-ms": "x", "Retry-After": "9"}, 9.0),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),
    ],
)
def test_retry_after_values(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert parse_retry_after(httpx.Headers(headers), now=now) == expected


def test_decode_json_returns_the_object() -> None:
    assert decode_json(REQUEST, _response(200, {"contact": {"id": "1"}}), now=NOW) == {
        "contact": {"id": "1"}
    }
    assert decode_json(REQUEST, _response(200), now=NOW) == {}


@pytest.mark.parametrize(
    ("text", "content_type", "word"),
    [
        ("<html><body>Log in</body></html>", "text/html", "HTML"),
        ('{"contact": {"id"', "application/json", "not JSON"),
        ("[1, 2]", "application/json", "not an object"),
    ],
)
def test_a_2xx_that_is_not_the_endpoints_json_is_not_success(
    text: str, content_type: str, word: str
) -> None:
    with pytest.raises(ResponseValidationError, match=word) as info:
        decode_json(
            REQUEST, _response(200, text=text, headers={"content-type": content_type}), now=NOW
        )
    assert info.value.status_code == 200


def test_transport_errors_wrap() -> None:
    assert isinstance(transport_error(REQUEST, httpx.ReadTimeout("slow")), APITimeoutError)
    err = transport_error(REQUEST, httpx.ConnectError("refused"))
    assert type(err) is APIConnectionError
    assert "ConnectError" in str(err)
