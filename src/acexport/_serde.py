"""ActiveCampaign JSON into acexport's models, with a private cattrs converter.

ActiveCampaign sends camelCase keys, ids as strings, and null or missing values freely; this
converter renames, turns ids into ints, and reads nulls as empty strings. It is private: a
library never registers hooks on cattrs' global converter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._models import (
    BulkImportStatus,
    Contact,
    ContactList,
    ContactTag,
    CustomField,
    ListMembership,
    ListStatus,
    Tag,
    User,
)

__all__ = ["ParseError", "describe_parse_error", "import_status", "structure", "to_int"]

T = TypeVar("T")

#: What a parser may raise on a body of the wrong shape: each becomes a ResponseValidationError.
ParseError = (
    cattrs.BaseValidationError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)

_converter = cattrs.Converter(forbid_extra_keys=False)


def to_int(value: Any, _: object = None) -> int:
    """An id or a count as ActiveCampaign sends it: an int, or a string of digits.

    Nothing else is read as a number: not a boolean, not a float (``1.7`` is not id 1), not
    ``" 12 "`` or ``"1_000"`` (which ``int()`` would accept).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    raise TypeError(f"expected an integer or a string of digits, got {_kind(value)}")


def _to_str(value: Any, _: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {_kind(value)}")


def _to_import_status(value: Any, _: object) -> BulkImportStatus:
    if not isinstance(value, str):
        raise TypeError(f"expected a status string, got {_kind(value)}")
    return BulkImportStatus(value.lower())


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


_converter.register_structure_hook(int, to_int)
_converter.register_structure_hook(str, _to_str)
_converter.register_structure_hook(ListStatus, lambda v, _: ListStatus(to_int(v)))
_converter.register_structure_hook(BulkImportStatus, _to_import_status)

_RENAMES: dict[type, dict[str, str]] = {
    User: {"first_name": "firstName", "last_name": "lastName"},
    ContactList: {},
    Contact: {"first_name": "firstName", "last_name": "lastName"},
    ListMembership: {"contact_id": "contact", "list_id": "list"},
    CustomField: {"options": ""},  # ids in the JSON: the values are sideloaded (see fields_pager)
    Tag: {"name": "tag", "tag_type": "tagType"},
    ContactTag: {"contact_id": "contact", "tag_id": "tag"},
}

for _cls, _renames in _RENAMES.items():
    _converter.register_structure_hook(
        _cls,
        make_dict_structure_fn(
            _cls,
            _converter,
            **{  # type: ignore[arg-type]
                name: override(rename=key) if key else override(omit=True)
                for name, key in _renames.items()
            },
        ),
    )


def import_status(value: Any) -> BulkImportStatus:
    """``/import/info``'s ``status`` string (any letter case) as a :class:`BulkImportStatus`."""
    return _to_import_status(value, None)


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from ActiveCampaign's JSON object (raises one of :data:`ParseError`)."""
    if attrs.has(cls) and not isinstance(data, Mapping):
        raise TypeError(f"expected an object for {cls.__name__}, got {_kind(data)}")
    return _converter.structure(data, cls)


def describe_parse_error(exc: BaseException) -> str:
    """A readable one-line account of why a body did not fit a model."""
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc)) or str(exc)
    return f"{type(exc).__name__}: {exc}"
