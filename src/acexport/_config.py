"""Client configuration: the account's API URL, the key, and where they come from."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping

import attrs
import httpx

from ._exceptions import ConfigError

__all__ = ["API_KEY_ENV", "API_URL_ENV", "ClientConfig", "normalize_api_url"]

API_URL_ENV = "ACTIVECAMPAIGN_API_URL"
API_KEY_ENV = "ACTIVECAMPAIGN_API_KEY"


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# An ActiveCampaign key is a long hex string (72 characters today); no host name looks like one.
_KEY_LIKE = re.compile(r"[0-9a-fA-F]{32,}")
_URL_LIKE = re.compile(r"://|\.api-[a-z]{2}\d+\.com|\.activehosted\.com|/api/3", re.IGNORECASE)
_SWAPPED = (
    "were api_url and api_key swapped? It is ActiveCampaign(api_url, api_key), and "
    f"{API_URL_ENV} / {API_KEY_ENV} (Settings → Developer shows both)"
)


def _looks_like_key(text: str) -> bool:
    bare = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", text.strip()).rstrip("/")
    return bool(_KEY_LIKE.fullmatch(bare))


def normalize_api_url(value: str) -> str:
    """Turn any accepted form of the account's API URL into ``https://host[:port]/api/3``.

    Accepts the bare host (``acct.api-us1.com``, as the account's Settings → Developer page shows
    it), ``https://acct.api-us1.com`` and either with ``/api/3``. ``http://`` is refused unless the
    host is loopback, so that a key never crosses a network in clear text.
    """
    text = value.strip()
    if not text:
        raise ConfigError("the API URL is empty: pass api_url= or set " + API_URL_ENV)
    if _looks_like_key(text):
        # Never echo it, never look it up in DNS.
        raise ConfigError(f"the API URL looks like an API key (a long hex string): {_SWAPPED}")
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ConfigError(f"the API URL {value!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise ConfigError(f"the API URL must use https://, not {url.scheme}://")
    if not url.host:
        raise ConfigError(f"the API URL {value!r} has no host")
    if any(len(label) > 63 for label in url.host.split(".")):
        raise ConfigError(
            "the API URL's host name has a part longer than 63 characters, which no host name "
            f"has; is it an API key? {_SWAPPED}"
        )
    if url.userinfo:
        raise ConfigError("the API URL must not hold a user name or password")
    if url.query or url.fragment:
        raise ConfigError("the API URL must not have a query string or fragment")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ConfigError(
            f"refusing plain http:// to {url.host}: the API key would cross the network in clear "
            "text. Use https:// (http:// is only allowed for loopback test servers: localhost, "
            "127.0.0.0/8, ::1)"
        )
    path = url.path.rstrip("/")
    if path.endswith("/api/3"):
        path = path[: -len("/api/3")]
    if path:
        raise ConfigError(
            f"the API URL {value!r} has an unexpected path {url.path!r}: give the host as shown "
            "under Settings → Developer, e.g. https://youraccount.api-us1.com"
        )
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{host}{port}/api/3"


@attrs.frozen
class ClientConfig:
    """Resolved settings of one client. ``api_key`` never appears in its repr."""

    base_url: str
    api_key: str = attrs.field(repr=False)
    timeout: float
    requests_per_second: float | None
    bulk_imports_per_minute: float | None
    max_retries: int
    max_retry_wait: float

    @classmethod
    def resolve(
        cls,
        api_url: str | None,
        api_key: str | None,
        *,
        timeout: float,
        requests_per_second: float | None,
        bulk_imports_per_minute: float | None,
        max_retries: int,
        max_retry_wait: float,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        env = os.environ if environ is None else environ
        url = api_url if api_url is not None else env.get(API_URL_ENV)
        if not url:
            raise ConfigError(
                f"no API URL: pass api_url= or set {API_URL_ENV} (the URL shown under "
                "Settings → Developer in ActiveCampaign, e.g. https://youraccount.api-us1.com)"
            )
        key = api_key if api_key is not None else env.get(API_KEY_ENV)
        if not key or not key.strip():
            raise ConfigError(
                f"no API key: pass api_key= or set {API_KEY_ENV} (Settings → Developer in "
                "ActiveCampaign)"
            )
        key = key.strip()
        if key == url.strip() or _URL_LIKE.search(key):
            raise ConfigError(f"the API key looks like the API URL: {_SWAPPED}")
        if any(ord(c) < 0x21 or ord(c) > 0x7E for c in key):
            # Never echo the key: only say what is wrong with it.
            raise ConfigError("the API key holds spaces or non-printable characters")
        for name, rate in (
            ("requests_per_second", requests_per_second),
            ("bulk_imports_per_minute", bulk_imports_per_minute),
        ):
            if rate is not None and not rate > 0:
                raise ConfigError(f"{name} must be > 0 or None (off), not {rate!r}")
        if not timeout > 0:
            raise ConfigError(f"timeout must be > 0 seconds, not {timeout!r}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, not {max_retries!r}")
        if max_retry_wait < 0:
            raise ConfigError(f"max_retry_wait must be >= 0 seconds, not {max_retry_wait!r}")
        return cls(
            base_url=normalize_api_url(url),
            api_key=key,
            timeout=float(timeout),
            requests_per_second=requests_per_second,
            bulk_imports_per_minute=bulk_imports_per_minute,
            max_retries=max_retries,
            max_retry_wait=float(max_retry_wait),
        )
