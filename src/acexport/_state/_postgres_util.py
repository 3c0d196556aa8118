"""PostgresState's helpers: recognising a URL, importing the driver, naming a location."""

from __future__ import annotations

import hashlib
import urllib.parse
from typing import Any

from .._exceptions import ConfigError

__all__ = ["import_psycopg", "is_postgres_url", "location", "lock_key"]

_URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(value: object) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL string."""
    return isinstance(value, str) and value.strip().lower().startswith(_URL_SCHEMES)


def import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigError(
            "PostgresState needs psycopg 3, which is not installed: install the extra with "
            "pip install 'acexport[postgres]'"
        ) from exc
    return psycopg


def lock_key(*parts: object) -> int:
    """A signed 64-bit advisory lock key for ``parts`` (collisions only ever refuse a run)."""
    text = "\x00".join(str(p) for p in ("acexport", *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


def location(params: dict[str, Any], schema: str) -> str:
    user = params.get("user") or ""
    host = str(params.get("host") or params.get("hostaddr") or "")
    if "/" in host or not host:
        host = f"[socket {host}]" if host else "localhost"
    port = params.get("port")
    db = params.get("dbname") or ""
    netloc = (urllib.parse.quote(str(user), safe="") + "@" if user else "") + host
    netloc += f":{port}" if port else ""
    return f"postgresql://{netloc}/{urllib.parse.quote(str(db), safe='')}#{schema}"
