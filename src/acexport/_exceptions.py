"""Every exception acexport raises.

The tree::

    ACExportError                      base of everything acexport raises
    ├── ConfigError (also ValueError)  missing key or URL, bad URL or mapping, unknown custom field
    ├── APIError                       .method, .url (never the key), .message
    │   ├── APIConnectionError         the request could not be completed (wraps an httpx error)
    │   │   └── APITimeoutError        ... because it timed out
    │   ├── APIStatusError             .status_code, .errors, .body
    │   │   ├── BadRequestError            400
    │   │   ├── AuthenticationError        401 / 403 (ActiveCampaign answers a bad key with 403)
    │   │   ├── NotFoundError              404
    │   │   ├── UnprocessableEntityError   422
    │   │   ├── RateLimitError             429 and bulk import's 400 "Rate limit exceeded."
    │   │   └── ServerError                5xx
    │   └── ResponseValidationError    a 2xx whose body is not the endpoint's JSON
    ├── ExportError                    an export stopped early; .report is the partial report
    └── StateError                     the sync state store failed at run time (disk full, I/O
                                       error, file removed or replaced while in use)

No exception holds the API key: requests are described by method and URL only, a key that a
server echoes back is replaced by ``[REDACTED]`` in every message and body excerpt, and the
httpx request reachable as ``APIConnectionError.__cause__.request`` carries no key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._report import ExportReport

__all__ = [
    "ACExportError",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ExportError",
    "NotFoundError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "StateError",
    "UnprocessableEntityError",
]


class ACExportError(Exception):
    """Base class of every exception acexport raises."""


class ConfigError(ACExportError, ValueError):
    """The client or an export is configured wrongly: the message says what to set or fix."""


class APIError(ACExportError):
    """A call to ActiveCampaign did not succeed.

    ``url`` is the request URL without credentials (the key travels in a header that is
    never copied here).
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def __str__(self) -> str:
        return f"{self.message} ({self.method} {self.url})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, method={self.method!r}, url={self.url!r})"


class APIConnectionError(APIError):
    """No usable response: the connection failed, was reset, or the transport broke.

    ``recoverable`` is False when retrying cannot help (the host name does not resolve, nothing
    listens on the port, https:// to a plain-http port, a certificate that fails verification):
    such an error is raised at once, with a message that says what to check. ``__cause__`` is
    the httpx error, its request's ``Api-Token`` header replaced by ``[REDACTED]``.
    """

    def __init__(self, message: str, *, method: str, url: str, recoverable: bool = True) -> None:
        super().__init__(message, method=method, url=url)
        self.recoverable = recoverable


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIStatusError(APIError):
    """ActiveCampaign answered with an error status.

    ``errors`` holds ActiveCampaign's own error messages, parsed from whichever body shape it
    sent (``errors[]``, ``message``, ``success: 0`` with ``failureReasons``); ``body`` is the
    raw body text (truncated to 2,000 characters).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        errors: Sequence[str] = (),
        body: str = "",
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.errors: tuple[str, ...] = tuple(errors)
        self.body = body

    def __str__(self) -> str:
        return f"HTTP {self.status_code}: {self.message} ({self.method} {self.url})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code}, "
            f"method={self.method!r}, url={self.url!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was refused as invalid (for bulk import, the whole batch)."""


class AuthenticationError(APIStatusError):
    """401 or 403: the API key is wrong, revoked, or its user may not do this."""


class NotFoundError(APIStatusError):
    """404: no such list, contact, field or tag."""


class UnprocessableEntityError(APIStatusError):
    """422: a missing or invalid parameter (a duplicate email on ``POST /contacts``, say)."""


class RateLimitError(APIStatusError):
    """429, or bulk import's 400 "Rate limit exceeded.", after the retries ran out.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        errors: Sequence[str] = (),
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, method=method, url=url, status_code=status_code, errors=errors, body=body
        )
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: ActiveCampaign failed; retried before it reaches you."""


class ResponseValidationError(APIError):
    """A 2xx response whose body is not what the endpoint returns (an HTML page, cut JSON)."""

    def __init__(self, message: str, *, method: str, url: str, status_code: int, body: str) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body


class ExportError(ACExportError):
    """An export stopped before the end. ``report`` accounts for every profile read so far."""

    def __init__(self, message: str, *, report: ExportReport) -> None:
        super().__init__(message)
        self.report = report


class StateError(ACExportError):
    """The sync state store failed while in use: disk full, an I/O error, the file removed or
    replaced under it. The message names the file; ``__cause__`` is the underlying error.

    Whatever the store had committed before stays committed. Problems found when the file is
    opened (not a state file, corrupt, from a newer acexport, locked by another export) raise
    :class:`ConfigError` instead, since they need fixing before an export can start.
    """
