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
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
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
    "REDACTED",
    "body_text",
    "decode_json",
    "error_messages",
    "loads",
    "parse_retry_after",
    "redact",
    "status_error",
    "transport_error",
]

_BODY_LIMIT = 2000
_BULK_RATE_LIMIT_MESSAGE = "rate limit exceeded"
KEY_HEADER = "Api-Token"
REDACTED = "[REDACTED]"

_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def redact(text: str, request: httpx.Request) -> str:
    """``text`` with the request's API key (any letter case) replaced by ``[REDACTED]``.

    A server, a proxy or a login page may echo the key back: every message and body excerpt
    acexport builds from a response goes through here.
    """
    key = request.headers.get(KEY_HEADER)
    if not key:
        return text
    return re.sub(re.escape(key), REDACTED, text, flags=re.IGNORECASE)


def _describe(request: httpx.Request) -> tuple[str, str]:
    """Method and URL of a request, for messages. The key is in a header, never in the URL."""
    return request.method, redact(str(request.url.copy_with(query=None)), request)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]!r} is out of range")
    return value


def loads(content: bytes) -> Any:
    """Strict JSON: ``NaN``, ``Infinity`` and numbers that overflow a float are refused.

    Raises ValueError (also for nesting too deep to parse) and nothing else; it is raised
    outside the handler, so that it does not keep the parser's exception (which holds the
    whole document, key echoes included) as its context.
    """
    try:
        return json.loads(content, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        problem = "JSON nested too deeply"
    except ValueError as exc:
        problem = str(exc)[:200]
    raise ValueError(problem)


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


def parse_retry_after(headers: httpx.Headers, *, now: float) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, ``Retry-After`` seconds or date.

    ``now`` is the wall-clock time (``time.time()``) an HTTP date is measured from.
    """
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
        try:
            return max(0.0, when.timestamp() - now)
        except (OverflowError, ValueError, OSError):
            return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


def body_text(request: httpx.Request, response: httpx.Response) -> str:
    """The start of a response body, as text, with the key redacted. Never raises."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        text = response.content.decode("utf-8", "replace")
    return redact(text[: _BODY_LIMIT + 200], request)[:_BODY_LIMIT]


def _try_json(response: httpx.Response) -> object:
    try:
        return loads(response.content)
    except ValueError:
        return None


def status_error(request: httpx.Request, response: httpx.Response, *, now: float) -> APIStatusError:
    """The exception for an error response (status >= 400, or bulk import's 400 rate limit).

    ``now`` (``time.time()``) is what a ``Retry-After`` HTTP date is measured from.
    """
    method, url = _describe(request)
    status = response.status_code
    body = _try_json(response)
    messages = [redact(m, request) for m in error_messages(body)]
    text = body_text(request, response)
    summary = "; ".join(messages[:5]) or response.reason_phrase or f"HTTP {status}"
    if len(messages) > 5:
        summary += f"; and {len(messages) - 5} more"
    summary = redact(summary, request)
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
            retry_after=parse_retry_after(response.headers, now=now),
        )
    cls = _STATUS_CLASSES.get(status, ServerError if status >= 500 else APIStatusError)
    if cls is AuthenticationError:
        summary = (
            f"{summary} (ActiveCampaign refused the API key, or its user may not do this: check "
            "ACTIVECAMPAIGN_API_KEY and the user's permissions)"
        )
    return cls(summary, method=method, url=url, status_code=status, errors=messages, body=text)


def decode_json(request: httpx.Request, response: httpx.Response, *, now: float) -> Any:
    """The JSON body of a response, or the matching exception.

    Raises :class:`APIStatusError` subclasses for error statuses and redirects (acexport never
    follows one: the key would go along), and :class:`ResponseValidationError` for a 2xx that
    is not a JSON object (an HTML login page, a body cut short, ``NaN`` or ``Infinity``): such a
    response is never taken for success.
    """
    if response.status_code >= 400:
        raise status_error(request, response, now=now)
    method, url = _describe(request)
    if 300 <= response.status_code < 400:
        raise _redirect_error(request, response)
    if not response.content.strip():
        return {}
    content_type = response.headers.get("content-type", "")
    # Errors are raised outside the handlers and parsed data is dropped first: neither a
    # chained exception nor a frame's locals then hold the body (and any key it echoes).
    problem: str | None = None
    try:
        data = loads(response.content)
    except ValueError as exc:
        problem = str(exc)
    if problem is not None:
        kind = "HTML" if "html" in content_type.lower() else "not JSON"
        raise ResponseValidationError(
            redact(f"HTTP {response.status_code} response body is {kind} ({problem})", request),
            method=method,
            url=url,
            status_code=response.status_code,
            body=body_text(request, response),
        )
    if not isinstance(data, dict):
        shape = type(data).__name__
        del data
        raise ResponseValidationError(
            f"HTTP {response.status_code} response body is a JSON {shape}, not an object",
            method=method,
            url=url,
            status_code=response.status_code,
            body=body_text(request, response),
        )
    return data


def _redirect_error(request: httpx.Request, response: httpx.Response) -> APIStatusError:
    method, url = _describe(request)
    location = redact(response.headers.get("location", ""), request)[:300]
    where = f" to {location}" if location else ""
    return APIStatusError(
        f"the server redirected{where} (HTTP {response.status_code}); acexport does not follow "
        "redirects, so that the API key is never sent elsewhere: check the API URL (the one "
        "under Settings → Developer, https://youraccount.api-us1.com)",
        method=method,
        url=url,
        status_code=response.status_code,
        body=body_text(request, response),
    )


# --- transport failures ----------------------------------------------------------------------

_DNS_NOT_FOUND = frozenset(
    code
    for code in (
        getattr(socket, "EAI_NONAME", None),
        getattr(socket, "EAI_NODATA", None),
        getattr(socket, "EAI_FAIL", None),
    )
    if code is not None
)
# What OpenSSL reports when the other end answers a TLS hello in plain text (https:// to an
# http:// port): the first bytes of "HTTP/1.1 400" read as a TLS record header.
_PLAIN_TEXT_TLS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG"}
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during (bounded, cycle-safe)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        grouped = getattr(current, "exceptions", None)  # an ExceptionGroup (anyio's connect)
        if isinstance(grouped, tuple):
            todo.extend(e for e in grouped if isinstance(e, BaseException))


def _unrecoverable(request: httpx.Request, exc: httpx.TransportError) -> str | None:
    """What is wrong, when retrying the connection cannot help (else None)."""
    if not isinstance(exc, httpx.ConnectError):
        return None
    host = request.url.host
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    for err in _chain(exc):
        if isinstance(err, socket.gaierror) and err.errno in _DNS_NOT_FOUND:
            return (
                f"the host name {host!r} was not found (DNS): check the host name in the API URL "
                "(Settings → Developer shows it, e.g. youraccount.api-us1.com)"
            )
        if isinstance(err, ConnectionRefusedError):
            return (
                f"connection refused by {host}:{port}: nothing accepts connections there; check "
                "the API URL's host and port"
            )
        if isinstance(err, ssl.SSLCertVerificationError):
            return (
                f"the TLS certificate of {host} failed verification "
                f"({err.verify_message or err.reason}): check the API URL's host name"
            )
        if isinstance(err, ssl.SSLError) and err.reason in _PLAIN_TEXT_TLS:
            return (
                f"{host}:{port} answered the TLS handshake in plain text ({err.reason}): it "
                "does not speak https; check the URL's scheme (https:// to an http:// port?)"
            )
    return None


def _redacted_request(request: httpx.Request) -> httpx.Request:
    headers = [
        (name, REDACTED if name.lower() == KEY_HEADER.lower() else value)
        for name, value in request.headers.multi_items()
    ]
    return httpx.Request(request.method, request.url, headers=headers)


def _scrub(request: httpx.Request, exc: httpx.TransportError) -> None:
    """Make ``exc`` safe to keep as a cause: its request's key redacted, its message too, and
    no traceback or chain (the frames' locals there hold the request and its headers).

    In place, so that the same object, which the driver is handling and which becomes the
    ``__context__`` of what ``call`` raises, holds no key either.
    """
    exc.args = (redact(str(exc), request), *exc.args[1:])
    exc.request = _redacted_request(request)
    exc.__traceback__ = None
    exc.__cause__ = None
    exc.__context__ = None
    exc.__suppress_context__ = True


def transport_error(request: httpx.Request, exc: httpx.TransportError) -> APIConnectionError:
    """Wrap an httpx transport failure (its message, never its request headers).

    The returned error's ``__cause__`` is ``exc``, scrubbed in place: its ``.request`` carries
    the key as ``[REDACTED]``, and it has no traceback or chain of its own. ``recoverable`` is
    False when retrying cannot help: the host name does not resolve, the port refuses
    connections, the certificate fails verification, or an https:// URL points at a plain-http
    port.
    """
    method, url = _describe(request)
    error: APIConnectionError
    if isinstance(exc, httpx.TimeoutException):
        error = APITimeoutError(f"timed out ({type(exc).__name__})", method=method, url=url)
    else:
        problem = _unrecoverable(request, exc)
        detail = redact(str(exc), request) or type(exc).__name__
        if problem is not None:
            error = APIConnectionError(
                redact(f"{problem} ({type(exc).__name__}: {detail})", request),
                method=method,
                url=url,
                recoverable=False,
            )
        else:
            error = APIConnectionError(
                f"connection failed ({type(exc).__name__}: {detail})", method=method, url=url
            )
    _scrub(request, exc)  # after _unrecoverable: it reads the chain
    error.__cause__ = exc
    return error
