"""Responses into data or exceptions. Pure: takes what arrived, touches no socket.

ActiveCampaign's error bodies come in several shapes, all handled here:
``{"errors": [{"title", "detail", ...}]}``, ``{"message": "..."}``,
``{"success": 0, "message": "...", "failureReasons": [...]}`` (bulk import), ``{}``, and bodies
that are not JSON at all.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import Any

import httpx

from .._exceptions import (
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

__all__ = [
    "decode_json",
    "error_messages",
    "parse_retry_after",
    "status_error",
    "transport_error",
]

_BODY_LIMIT = 2000
_BULK_RATE_LIMIT_MESSAGE = "rate limit exceeded"

_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _describe(request: httpx.Request) -> tuple[str, str]:
    """Method and URL of a request, for messages. The key is in a header, never in the URL."""
    return request.method, str(request.url.copy_with(query=None))


def _failure_reason(item: object) -> str:
    if isinstance(item, Mapping):
        reason = item.get("failureReason") or item.get("reason") or item.get("message")
        where = item.get("contact")
        if reason is not None and where is not None:
            return f"contact {where}: {reason}"
        if reason is not None:
            return str(reason)
        return json.dumps(item, ensure_ascii=False, default=str)
    return str(item)


def error_messages(body: object) -> list[str]:
    """ActiveCampaign's error messages from any of its body shapes (empty when it gave none)."""
    if not isinstance(body, Mapping):
        return []
    messages: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for err in errors:
            if isinstance(err, Mapping):
                title = str(err.get("title") or "").strip()
                detail = str(err.get("detail") or "").strip()
                messages.append(f"{title}: {detail}" if title and detail else title or detail)
            elif err:
                messages.append(str(err))
    elif isinstance(errors, Mapping):
        messages.extend(f"{k}: {v}" for k, v in errors.items())
    message = body.get("message")
    if isinstance(message, str) and message.strip():
        messages.append(message.strip())
    reasons = body.get("failureReasons")
    if isinstance(reasons, list):
        messages.extend(_failure_reason(r) for r in reasons)
    return [m for m in messages if m]


def parse_retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, ``Retry-After`` seconds or date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if not math.isfinite(value) or value < 0:
        return None
    return value


def _body_text(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        text = response.content.decode("utf-8", "replace")
    return text[:_BODY_LIMIT]


def _try_json(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def status_error(request: httpx.Request, response: httpx.Response) -> APIStatusError:
    """The exception for an error response (status >= 400, or bulk import's 400 rate limit)."""
    method, url = _describe(request)
    status = response.status_code
    body = _try_json(response)
    messages = error_messages(body)
    text = _body_text(response)
    summary = "; ".join(messages[:5]) or response.reason_phrase or f"HTTP {status}"
    if len(messages) > 5:
        summary += f"; and {len(messages) - 5} more"
    is_bulk_rate_limit = (
        status == 400
        and isinstance(body, Mapping)
        and str(body.get("message", "")).strip().lower().rstrip(".") == _BULK_RATE_LIMIT_MESSAGE
    )
    if status == 429 or is_bulk_rate_limit:
        return RateLimitError(
            summary,
            method=method,
            url=url,
            status_code=status,
            errors=messages,
            body=text,
            retry_after=parse_retry_after(response.headers),
        )
    cls = _STATUS_CLASSES.get(status, ServerError if status >= 500 else APIStatusError)
    if cls is AuthenticationError:
        summary = (
            f"{summary} (ActiveCampaign refused the API key, or its user may not do this: check "
            "ACTIVECAMPAIGN_API_KEY and the user's permissions)"
        )
    return cls(summary, method=method, url=url, status_code=status, errors=messages, body=text)


def decode_json(request: httpx.Request, response: httpx.Response) -> Any:
    """The JSON body of a response, or the matching exception.

    Raises :class:`APIStatusError` subclasses for error statuses, and
    :class:`ResponseValidationError` for a 2xx that is not JSON (an HTML login page, a body cut
    short): such a response is never taken for success.
    """
    if response.status_code >= 400:
        raise status_error(request, response)
    method, url = _describe(request)
    if not response.content.strip():
        return {}
    content_type = response.headers.get("content-type", "")
    try:
        data = json.loads(response.content)
    except ValueError as exc:
        kind = "HTML" if "html" in content_type.lower() else "not JSON"
        raise ResponseValidationError(
            f"HTTP {response.status_code} response body is {kind} ({exc.__class__.__name__})",
            method=method,
            url=url,
            status_code=response.status_code,
            body=_body_text(response),
        ) from None
    if not isinstance(data, dict):
        raise ResponseValidationError(
            f"HTTP {response.status_code} response body is a JSON {type(data).__name__}, "
            "not an object",
            method=method,
            url=url,
            status_code=response.status_code,
            body=_body_text(response),
        )
    return data


def transport_error(request: httpx.Request, exc: httpx.TransportError) -> APIConnectionError:
    """Wrap an httpx transport failure (its message, never its request headers)."""
    method, url = _describe(request)
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"timed out ({type(exc).__name__})", method=method, url=url)
    return APIConnectionError(
        f"connection failed ({type(exc).__name__}: {detail})", method=method, url=url
    )
