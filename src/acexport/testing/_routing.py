"""The fake's router and request parsing: :class:`RouteTable`, :class:`Request`, body/query helpers.

Each ``_endpoints_*.py`` module fills a :class:`RouteTable` of its own with ``@routes.add``;
``_dispatcher.py`` merges them into the one table it routes by. The helpers read what clients
send the way ActiveCampaign does: ids as ints or digit strings, scalars stored as text, pages by
``limit`` (default 20, at most 100) and zero-based ``offset``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs

from ._replies import Reply

if TYPE_CHECKING:
    from ._dispatcher import Dispatcher

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "BadBody",
    "Handler",
    "Request",
    "RouteTable",
    "as_flag",
    "as_id",
    "as_text",
    "body_object",
    "collection",
    "int_param",
    "page",
]

DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100


@attrs.define
class Request:
    """One request as the endpoint handlers see it."""

    method: str
    path: str
    params: dict[str, str]
    body: bytes
    args: list[str]  # the segments the template's ``{id}`` placeholders captured
    now: float
    info_false: bool = False  # the "info_false" fault: /import/info must answer status false


class BadBody(Exception):
    """The request body is not the JSON the endpoint needs (the dispatcher answers 400)."""


Handler: TypeAlias = Callable[["Dispatcher", Request], Reply]
"""An endpoint: the dispatcher (for the account's data) and the request -> the reply."""


class RouteTable:
    """Endpoint handlers by ``(method, path template)``; ``{id}`` in a template is one segment."""

    def __init__(self) -> None:
        self.handlers: dict[tuple[str, str], Handler] = {}

    def add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        """Register the decorated function as the handler of ``method`` + ``template``."""

        def register(func: Handler) -> Handler:
            key = (method, template)
            if key in self.handlers:
                raise ValueError(f"two handlers for {method} {template}")
            self.handlers[key] = func
            return func

        return register

    @classmethod
    def merge(cls, tables: Iterable[RouteTable]) -> RouteTable:
        """One table holding every route of ``tables`` (a route twice is an error)."""
        merged = cls()
        for table in tables:
            for (method, template), func in table.handlers.items():
                merged.add(method, template)(func)
        return merged

    def match(self, path: str) -> tuple[str, list[str]] | None:
        """The template ``path`` matches (for any method) and the ``{id}`` segments captured."""
        segments = path.split("/")
        for _, template in self.handlers:
            parts = template.split("/")
            if len(parts) != len(segments):
                continue
            args: list[str] = []
            for part, segment in zip(parts, segments, strict=True):
                if part == "{id}":
                    if not segment:
                        break
                    args.append(segment)
                elif part != segment:
                    break
            else:
                return template, args
        return None

    def get(self, method: str, template: str) -> Handler | None:
        """The handler of ``method`` + ``template``, if there is one."""
        return self.handlers.get((method, template))


# reading requests -------------------------------------------------------------------------


def body_object(req: Request, key: str | None = None) -> dict[str, Any] | None:
    """The JSON body (or its ``key`` member) if it is an object, else ``None``.

    Raises :class:`BadBody` when the body is not JSON at all.
    """
    try:
        data = json.loads(req.body or b"null")
    except ValueError as exc:
        raise BadBody("Request body is not valid JSON") from exc
    if key is not None:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else None


def as_id(value: object) -> int | None:
    """An id sent as an int or a digit string, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_text(value: object) -> str | None:
    """A scalar as the string AC stores; ``None`` for null and for lists/objects."""
    if value is None or isinstance(value, (list, dict)):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def as_flag(value: object) -> bool:
    """``true``, ``1``, ``"true"``, ``"1"`` -> True."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def int_param(params: dict[str, str], name: str) -> int | None:
    """An integer query parameter, ``None`` when absent or not an integer."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


# collections ------------------------------------------------------------------------------


def page(items: list[Any], params: dict[str, str]) -> tuple[list[Any], int, int]:
    """Slice by ``limit`` (default 20, at most 100) and zero-based ``offset``."""
    limit = int_param(params, "limit")
    if limit is None or limit < 1:
        limit = DEFAULT_LIMIT
    limit = min(limit, MAX_LIMIT)
    offset = max(0, int_param(params, "offset") or 0)
    return items[offset : offset + limit], limit, offset


def collection(key: str, items: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    """``{key: <one page of items>, "meta": {"total": "<all of them>"}}``."""
    shown, _, _ = page(items, params)
    return {key: shown, "meta": {"total": str(len(items))}}
