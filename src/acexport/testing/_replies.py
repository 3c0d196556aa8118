"""What the fake answers: :class:`Reply`, and ActiveCampaign's error bodies and fault bodies.

A :class:`Reply` is transport-agnostic: ``FakeActiveCampaign.handler`` turns it into an
``httpx.Response``, the loopback server into bytes on a socket. AC answers errors in several
shapes (``{"errors": [...]}``, ``{"message": ...}``, bulk import's ``success: 0`` with
``failureReasons``); each shape has one builder here, so the endpoints cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

import attrs

__all__ = [
    "BULK_INVALID_MESSAGE",
    "BULK_RATE_BODY",
    "DUPLICATE_EMAIL",
    "EMAIL_FORMAT_REASON",
    "EMAIL_INVALID",
    "JSON",
    "LOGIN_PAGE",
    "STATUS_PHRASES",
    "TRUNCATED_BODY",
    "Reply",
    "bulk_400",
    "error_422",
    "missing_attribute",
    "not_found_errors",
    "not_found_message",
    "reply_json",
]

JSON: Final = "application/json"


@attrs.frozen
class Reply:
    """One response the fake decided on, before it is put on a wire."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    reset: str | None = None  # "before" | "after": drop the connection instead of answering


def reply_json(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """A JSON reply."""
    return Reply(status, json.dumps(payload).encode(), JSON, tuple(headers))


# AC's error bodies ------------------------------------------------------------------------


def missing_attribute(name: str) -> Reply:
    """AC's 422 for a missing attribute."""
    return reply_json(
        422,
        {
            "errors": [
                {
                    "status": 422,
                    "title": "Missing attribute",
                    "source": {"pointer": f"/data/attributes/{name}"},
                }
            ]
        },
    )


def error_422(title: str, code: str, pointer: str, detail: str = "") -> Reply:
    """A 422 ``{"errors": [...]}`` reply."""
    return reply_json(
        422,
        {
            "errors": [
                {
                    "title": title,
                    "detail": detail,
                    "code": code,
                    "source": {"pointer": f"/data/attributes/{pointer}"},
                }
            ]
        },
    )


def not_found_errors(detail: str) -> Reply:
    """AC's 404 ``{"errors": [{"status": 404, ...}]}`` shape."""
    return reply_json(404, {"errors": [{"status": 404, "title": "Not Found", "detail": detail}]})


def not_found_message(entity: str, ident: str) -> Reply:
    """AC's 404 ``{"message": "No Result found for <Entity> with id N"}`` shape."""
    return reply_json(404, {"message": f"No Result found for {entity} with id {ident}"})


EMAIL_INVALID: Final = reply_json(
    422,
    {
        "errors": [
            {
                "title": "Contact Email is not valid",
                "code": "email_invalid",
                "source": {"pointer": "/data/attributes/email"},
            }
        ]
    },
)
DUPLICATE_EMAIL: Final = error_422(
    "Email address already exists in the system", "duplicate", "email"
)

# bulk import's bodies ---------------------------------------------------------------------


def bulk_400(message: str, reasons: list[Any]) -> Reply:
    """Bulk import's 400: ``{"success": 0, "message": ..., "failureReasons": [...]}``."""
    return reply_json(400, {"success": 0, "message": message, "failureReasons": reasons})


BULK_RATE_BODY: Final = {
    "success": 0,
    "message": "Rate limit exceeded.",
    "failureReasons": [
        "Up to 100 imports may be requested per minute.Please batch contacts into larger "
        "requests, or retry this request in a minute."
    ],
}
BULK_INVALID_MESSAGE: Final = (
    "JSON payload did not pass validation. Please fix failure Reasons and retry. "
    "The import was not queued for processing."
)
EMAIL_FORMAT_REASON: Final = "Field\u2018 email\u2019 incorrect format"

# fault bodies -----------------------------------------------------------------------------

LOGIN_PAGE: Final = (
    b"<!DOCTYPE html>\n<html><head><title>Log in | ActiveCampaign</title></head>"
    b'<body><form method="post" action="/admin/index.php"><input name="user">'
    b'<input name="pass" type="password"><button>Log in</button></form></body></html>\n'
)
TRUNCATED_BODY: Final = b'{"contact": {"id"'
STATUS_PHRASES: Final = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
