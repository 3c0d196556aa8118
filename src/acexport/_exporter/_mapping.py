"""Which part of a profile becomes which part of an ActiveCampaign contact.

A *source* says where a value comes from:

- a ``str``: a key when the profile is a :class:`~collections.abc.Mapping` (a ``dict``, a
  pandas row as a dict, ...), else an attribute name (dataclasses, attrs classes, named
  tuples, pydantic models, any object);
- a callable taking the profile and returning the value.

A missing key or attribute is a missing value (left out of the contact; for the email, the row
is refused). A source that raises refuses the row, naming the source.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import attrs

from .._exceptions import ConfigError
from .._models import CustomField

__all__ = ["MISSING", "FieldMapping", "Source", "read_key", "resolve_fields"]

#: Where a value comes from: a key / attribute name, or a callable taking the profile.
Source: TypeAlias = str | Callable[[Any], object]

FieldKey: TypeAlias = int | str


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: What reading a source gives for an absent key or attribute.
MISSING: Final = _Missing()


def describe_source(source: Source) -> str:
    """A short readable name for a source: ``'Email'`` or ``<function get_email>``."""
    if isinstance(source, str):
        return repr(source)
    if isinstance(
        source,
        (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.LambdaType),
    ):
        return f"<function {getattr(source, '__qualname__', '?')}>"
    try:
        text = repr(source)
    except Exception:  # a broken __repr__ must not break a repr or an error message
        text = f"<{type(source).__name__} object>"
    return text if len(text) <= 80 else text[:77] + "..."


def _check_source(name: str, value: object, *, optional: bool) -> None:
    if value is None:
        if optional:
            return
        raise ConfigError(f"FieldMapping: {name} is required (a key, attribute name or callable)")
    if isinstance(value, str):
        if not value:
            raise ConfigError(f"FieldMapping: {name} is an empty string; name a key or attribute")
        return
    if callable(value):
        return
    raise ConfigError(
        f"FieldMapping: {name} must be a key or attribute name (str) or a callable taking the "
        f"profile, not {type(value).__name__} {value!r:.60}"
    )


def _validate_email(_inst: object, _attr: object, value: Source) -> None:
    _check_source("email", value, optional=False)


def _validate_optional(
    _inst: object, attribute: attrs.Attribute[Source | None], value: Source | None
) -> None:
    _check_source(attribute.name, value, optional=True)


def _convert_fields(value: Mapping[FieldKey, Source] | None) -> Mapping[FieldKey, Source]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise ConfigError(
            "FieldMapping: fields must be a mapping of custom field (id, perstag or title) to "
            f"source, not {type(value).__name__}"
        )
    out: dict[FieldKey, Source] = {}
    for key, source in value.items():
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise ConfigError(
                f"FieldMapping: custom field key {key!r} must be a field id (int or digits), "
                "a perstag or a title (str)"
            )
        if isinstance(key, int) and key <= 0:
            raise ConfigError(f"FieldMapping: custom field id {key} must be positive")
        if isinstance(key, str) and not key.strip():
            raise ConfigError("FieldMapping: a custom field key is an empty string")
        _check_source(f"fields[{key!r}]", source, optional=False)
        out[key] = source
    return MappingProxyType(out)  # read-only: the mapping is frozen, its fields too


def _convert_tags(value: Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)):
        raise ConfigError(
            f"FieldMapping: tags must be a sequence of tag names, not a single string; "
            f"write tags=({value!r},)"
        )
    try:
        items = list(value)
    except TypeError:
        raise ConfigError(
            f"FieldMapping: tags must be a sequence of tag names, not {type(value).__name__}"
        ) from None
    tags: list[str] = []
    seen: set[str] = set()
    for tag in items:
        if not isinstance(tag, str):
            raise ConfigError(f"FieldMapping: tag names must be str, not {type(tag).__name__}")
        name = tag.strip()
        if not name:
            raise ConfigError("FieldMapping: a tag name is empty")
        if name.casefold() not in seen:  # ActiveCampaign matches tag names case-insensitively
            seen.add(name.casefold())
            tags.append(name)
    return tuple(tags)


def _optional_repr(value: Source | None) -> str:
    return "None" if value is None else describe_source(value)


def _fields_repr(value: Mapping[FieldKey, Source]) -> str:
    return "{" + ", ".join(f"{k!r}: {describe_source(v)}" for k, v in value.items()) + "}"


@attrs.frozen
class FieldMapping:
    """How a profile becomes an ActiveCampaign contact.

    ``email`` is required; ``first_name``, ``last_name`` and ``phone`` are optional sources.
    ``fields`` maps a custom field (its numeric id as an ``int`` or a string of digits, or its
    perstag or title, resolved once per export by :func:`resolve_fields`) to a source. ``tags``
    are tag names put on every exported contact (stripped; repeats, compared
    case-insensitively like ActiveCampaign does, dropped). ``key`` is an optional source of a
    stable customer id: with a ``state``, a key whose email changed since the last run has its
    contact's email changed in place (see docs/membership.md).

    Anything malformed raises :class:`~acexport.ConfigError` here, not mid-export.
    """

    email: Source = attrs.field(validator=_validate_email, repr=describe_source)
    first_name: Source | None = attrs.field(
        default=None, kw_only=True, validator=_validate_optional, repr=_optional_repr
    )
    last_name: Source | None = attrs.field(
        default=None, kw_only=True, validator=_validate_optional, repr=_optional_repr
    )
    phone: Source | None = attrs.field(
        default=None, kw_only=True, validator=_validate_optional, repr=_optional_repr
    )
    fields: Mapping[FieldKey, Source] = attrs.field(
        factory=dict, kw_only=True, converter=_convert_fields, repr=_fields_repr, hash=False
    )
    tags: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=_convert_tags)
    key: Source | None = attrs.field(
        default=None, kw_only=True, validator=_validate_optional, repr=_optional_repr
    )


_MAX_KEY = 200


def read_key(
    source: Source, profile: object, get: Callable[[str, object], object]
) -> tuple[str | None, str | None]:
    """(the profile's customer key or None when it has none, None) or (None, why refused).

    A key is a ``str`` (stripped) or an ``int`` (as its digits), at most 200 characters."""
    try:
        value = get(source, MISSING) if isinstance(source, str) else source(profile)
    except Exception as exc:
        return None, f"reading {describe_source(source)} for key raised {type(exc).__name__}"
    if value is None or value is MISSING:
        return None, None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None, f"key ({describe_source(source)}) is {type(value).__name__}, not str or int"
    key = value.strip()
    if len(key) > _MAX_KEY or not key.isprintable():
        return None, f"key ({describe_source(source)}) is over {_MAX_KEY} characters or unprintable"
    return key or None, None


def _field_id_of_key(key: FieldKey) -> int | None:
    if isinstance(key, int):
        return key
    text = key.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    return None


def _available_text(available: Sequence[CustomField], limit: int = 10) -> str:
    if not available:
        return "the account has no custom fields"
    shown = [
        f"{f.perstag or '-'} ({f.title!r}, id {f.id})"
        for f in sorted(available, key=lambda f: f.id)[:limit]
    ]
    more = len(available) - len(shown)
    tail = f", and {more} more" if more > 0 else ""
    return "available perstags (title, id): " + ", ".join(shown) + tail


def resolve_fields(mapping: FieldMapping, available: Sequence[CustomField]) -> dict[int | str, int]:
    """Map each key of ``mapping.fields`` to a custom field id of the account.

    An ``int`` key (or a string of digits) must be one of the ids; any other string is matched
    against perstags case-insensitively (surrounding ``%`` allowed, as in ``%LOYALTY_TIER%``),
    then against titles case-insensitively. An unknown key, an ambiguous title, or two keys
    naming the same field raise :class:`~acexport.ConfigError`. Pure: ``available`` is what
    ``GET /fields`` returned.
    """
    ids = {f.id for f in available}
    by_perstag: dict[str, list[CustomField]] = {}
    by_title: dict[str, list[CustomField]] = {}
    for f in available:
        if f.perstag:
            by_perstag.setdefault(f.perstag.strip().casefold(), []).append(f)
        if f.title:
            by_title.setdefault(f.title.strip().casefold(), []).append(f)

    resolved: dict[int | str, int] = {}
    owner: dict[int, int | str] = {}
    for key in mapping.fields:
        field_id = _field_id_of_key(key)
        if field_id is not None:
            if field_id not in ids:
                raise ConfigError(
                    f"custom field id {key!r} does not exist in this account; "
                    + _available_text(available)
                )
        else:
            assert isinstance(key, str)
            text = key.strip()
            tag = text.strip("%").strip().casefold()
            candidates = by_perstag.get(tag) or by_title.get(text.casefold()) or []
            if not candidates:
                raise ConfigError(
                    f"no custom field has the perstag or title {key!r}; "
                    + _available_text(available)
                )
            if len(candidates) > 1:
                listed = ", ".join(
                    f"id {f.id} (perstag {f.perstag or '-'})" for f in candidates[:10]
                )
                raise ConfigError(
                    f"custom field {key!r} is ambiguous: {len(candidates)} fields match "
                    f"({listed}); use the perstag or the id"
                )
            field_id = candidates[0].id
        if field_id in owner:
            raise ConfigError(
                f"custom field keys {owner[field_id]!r} and {key!r} both name field {field_id}"
            )
        owner[field_id] = key
        resolved[key] = field_id
    return resolved
