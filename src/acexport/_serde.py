"""ActiveCampaign JSON into acexport's models, with a private cattrs converter.

ActiveCampaign sends camelCase keys, ids as strings, and null or missing values freely; this
converter renames, turns ids into ints, and reads nulls as empty strings. It is private: a
library never registers hooks on cattrs' global converter.
"""

from __future__ import annotations

from typing import Any, TypeVar

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

__all__ = ["ParseError", "structure"]

T = TypeVar("T")

ParseError = (cattrs.BaseValidationError, ValueError, TypeError, KeyError)

_converter = cattrs.Converter(forbid_extra_keys=False)


def _to_int(value: Any, _: object) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an id, got a boolean")
    return int(value)


def _to_str(value: Any, _: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return str(value)


_converter.register_structure_hook(int, _to_int)
_converter.register_structure_hook(str, _to_str)
_converter.register_structure_hook(ListStatus, lambda v, _: ListStatus(int(v)))
_converter.register_structure_hook(BulkImportStatus, lambda v, _: BulkImportStatus(str(v).lower()))

_RENAMES: dict[type, dict[str, str]] = {
    User: {"first_name": "firstName", "last_name": "lastName"},
    ContactList: {},
    Contact: {"first_name": "firstName", "last_name": "lastName"},
    ListMembership: {"contact_id": "contact", "list_id": "list"},
    CustomField: {},
    Tag: {"name": "tag", "tag_type": "tagType"},
    ContactTag: {"contact_id": "contact", "tag_id": "tag"},
}

for _cls, _renames in _RENAMES.items():
    _converter.register_structure_hook(
        _cls,
        make_dict_structure_fn(
            _cls,
            _converter,
            **{name: override(rename=key) for name, key in _renames.items()},  # type: ignore[arg-type]
        ),
    )


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from ActiveCampaign's JSON object (raises one of :data:`ParseError`)."""
    return _converter.structure(data, cls)


def describe_parse_error(exc: BaseException) -> str:
    """A readable one-line account of why a body did not fit a model."""
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc)) or str(exc)
    return f"{type(exc).__name__}: {exc}"
