"""Email validation and value formatting for ActiveCampaign's bulk import.

Both functions are pure and run once per profile (or per mapped value), so each has a fast path
for the common case and a slower path that only runs to explain a refusal.

Emails (:func:`normalize_email`)
    ActiveCampaign does not publish its email rules, and one address it refuses makes it reject
    a whole bulk-import request of up to 250 contacts. So the check here is deliberately at
    least as strict as every rejection known (a domain without a top-level domain, an
    apostrophe, spaces), and stricter than RFC 5322: ASCII only, at most 254 characters, a
    local part of at most 64 characters made of ``A-Z a-z 0-9`` and
    ``!#$%&*+/=?^_`{|}~.-`` (no apostrophe, no quotes) without a leading, trailing or doubled
    dot, and a domain of at least two dot-separated labels of ``A-Z a-z 0-9 -`` (not starting
    or ending with ``-``, at most 63 characters each) whose last label, the top-level domain,
    is letters only (at least two) or ``xn--`` punycode.

Values (:func:`format_value`)
    Every value goes to ActiveCampaign as a string. The choices:

    - ``None``, ``float("nan")``, ``Decimal("NaN")``, pandas ``NA`` / ``NaT`` (recognised by
      their type's name, pandas is never imported), an empty or blank string: *missing*, the
      value is left out of the contact.
    - ``str``: stripped. Refused when it holds a C0 control character other than tab, newline
      and carriage return (a NUL, say). No length cap: ActiveCampaign publishes none; the
      request's 399,999-byte limit is what bounds a value.
    - ``bool`` (checked before ``int``) and numpy's ``bool_``: ``"true"`` / ``"false"``.
    - ``int`` and any other ``numbers.Integral`` (numpy integers, ``IntEnum``): decimal digits.
    - ``float`` and any other ``numbers.Real``: a whole number smaller than 2**53 prints
      without ``.0`` (``42.0`` -> ``"42"``: pandas turns an int column holding a missing value
      into floats); anything else as ``repr`` (``"1.5"``, ``"1e+20"``). Infinity is refused.
    - ``decimal.Decimal``: as written (``Decimal("1.50")`` -> ``"1.50"``), without an exponent
      when it is small (``Decimal("1E+2")`` -> ``"100"``). Infinity is refused.
    - ``datetime.datetime`` (and pandas ``Timestamp``): ISO 8601 by ``isoformat()``
      (``"2024-05-01T09:30:00+02:00"``); ``datetime.date``: ``"YYYY-MM-DD"``.
    - ``list``, ``tuple``, ``set``, ``frozenset``: ActiveCampaign's multi-value form
      ``"||a||b||"`` of the formatted elements (a set's sorted). Missing elements are skipped
      and an empty result is missing; nested containers, and elements holding ``||`` or
      starting or ending with ``|``, are refused.
    - Anything else (``bytes``, ``dict``, a plain ``Enum``, ``time``, ...): refused, naming the
      type.

    Refusals raise :class:`ValueError` whose message is the reason shown in the report.

Field types (:func:`type_check`)
    A custom field of type ``date`` or ``datetime`` (what ``GET /fields`` says) takes only
    values ActiveCampaign can store as one; anything else is refused, naming what the field
    expects, instead of being sent as text the account will not read as a date:

    - ``date``: a ``datetime.date`` (``"YYYY-MM-DD"``), a ``datetime.datetime`` or pandas
      ``Timestamp`` (its own calendar date, ``"YYYY-MM-DD"``: the time of day is dropped), or a
      string ``"YYYY-MM-DD"`` naming a real day. ``"10/12/1985"``, ``"1985-2-3"``,
      ``"2024-02-30"`` and ``"gold"`` are refused.
    - ``datetime``: a ``datetime.datetime`` (ISO 8601 by ``isoformat()``), a ``datetime.date``
      (``"YYYY-MM-DD"``), or an ISO 8601 string: ``YYYY-MM-DD``, optionally followed by ``T``
      (or a space), ``HH:MM``, optional ``:SS`` and fraction, and an optional ``Z`` or
      ``+HH:MM`` offset, naming a real moment.
    - ``dropdown``, ``radio``, ``listbox``, ``checkbox``: the value (formatted as above; a
      list is the multi-value form ``"||a||b||"``, and a string in that form is read as one)
      must be the ``value`` of one of the field's options, each element for a multi-value,
      exactly (letter case included; spaces around an option or an element and Unicode
      composition, NFC, aside), and is sent as the option is saved; ``"Purple"`` for a field
      whose options are ``Red`` and ``Blue`` is refused, naming the options. A field whose
      options the account did not list is not checked (nothing is known to check against).
    - Missing values stay missing. Every other type (text, textarea, hidden, number...) is
      not checked.
"""

from __future__ import annotations

import datetime
import decimal
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Sequence

__all__ = ["MAX_EMAIL_LENGTH", "format_value", "normalize_email", "type_check"]

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_LENGTH = 64

_LOCAL_ATOM = r"[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{0,58}[A-Za-z0-9])"
#: The whole rule set, length of the local part included (the lookahead); the total length is
#: checked apart with ``len``.
_EMAIL_RE = re.compile(
    rf"(?=[^@]{{1,{MAX_LOCAL_LENGTH}}}@)(?:{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*)@(?:{_LABEL}\.)+{_TLD}",
    re.ASCII,
)
_email_match = _EMAIL_RE.fullmatch

_LOCAL_RE = re.compile(rf"{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*", re.ASCII)
_LOCAL_CHAR_RE = re.compile(r"[A-Za-z0-9!#$%&*+/=?^_`{|}~.-]", re.ASCII)
_LABEL_RE = re.compile(_LABEL, re.ASCII)
_TLD_RE = re.compile(_TLD, re.ASCII)

#: C0 control characters other than tab, newline and carriage return.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_control_search = _CONTROL_RE.search

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?",
    re.ASCII,
)

_date_match = _DATE_RE.fullmatch
_datetime_match = _DATETIME_RE.fullmatch

_MISSING_TYPE_NAMES = frozenset({"NAType", "NaTType"})
_NUMPY_BOOL_NAMES = frozenset({"bool_", "bool"})
_FLOAT_INT_LIMIT = 2.0**53


def is_missing(value: object) -> bool:
    """Whether a non-string value means "no value": ``None``, a float or ``Decimal`` NaN,
    pandas' ``NA`` / ``NaT`` (what a DataFrame holds in an empty cell)."""
    if value is None or type(value).__name__ in _MISSING_TYPE_NAMES:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    return False


def normalize_email(value: object) -> tuple[str | None, str | None]:
    """Return ``(email, None)`` for a valid address, ``(None, reason)`` otherwise.

    The address is stripped of surrounding whitespace; its case is kept.
    """
    if type(value) is not str:
        if value is None or is_missing(value):
            return None, "no email"
        if not isinstance(value, str):
            return None, f"email is {type(value).__name__}, not a string"
        value = str.__str__(value)
    email = value.strip()
    if len(email) <= MAX_EMAIL_LENGTH and _email_match(email) is not None:
        return email, None
    return None, _email_problem(email)


def _email_problem(email: str) -> str:
    """Say why ``email`` (stripped) is refused. Only called once the fast check failed."""
    if not email:
        return "no email"
    if not email.isascii():
        return (
            "email contains non-ASCII characters; internationalised addresses are not known to "
            "be accepted by ActiveCampaign's bulk import"
        )
    if len(email) > MAX_EMAIL_LENGTH:
        return f"email is {len(email)} characters, over the limit of {MAX_EMAIL_LENGTH}"
    if any(c.isspace() for c in email):
        return "email contains whitespace"
    if _control_search(email) or "\x7f" in email:
        return "email contains control characters"
    if "@" not in email:
        return "email has no @"
    local, _, domain = email.rpartition("@")
    if "@" in local:
        return "email has more than one @"
    if not local:
        return "email has nothing before the @"
    if len(local) > MAX_LOCAL_LENGTH:
        return f"email's local part is {len(local)} characters, over the limit of 64"
    bad = sorted({c for c in local if not _LOCAL_CHAR_RE.fullmatch(c)})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return f"email's local part contains characters ActiveCampaign refuses: {shown}"
    if not _LOCAL_RE.fullmatch(local):
        return "email's local part starts or ends with a dot, or has two dots in a row"
    if not domain:
        return "email has no domain"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"email's domain {domain!r} has no top-level domain"
    for label in labels:
        if not label:
            return f"email's domain {domain!r} has an empty label (two dots, or a leading dot)"
        if not _LABEL_RE.fullmatch(label):
            return (
                f"email's domain {domain!r} has an invalid label {label!r} (letters, digits and "
                "inner hyphens only, at most 63 characters)"
            )
    if not _TLD_RE.fullmatch(labels[-1]):
        return f"email's top-level domain {labels[-1]!r} is not letters only (or xn-- punycode)"
    return "email is not a valid address"  # pragma: no cover - every rule is named above


def format_value(value: object) -> str | None:
    """Format one value for ActiveCampaign; None means "leave it out".

    Raises :class:`ValueError` with the reason when the value cannot be sent.
    """
    if type(value) is str:
        s = value.strip()
        if not s:
            return None
        if not s.isprintable() and _control_search(s) is not None:
            raise ValueError("contains control characters")
        return s
    if value is None:
        return None
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is float:
        return _format_float(value)
    return _format_other(value, nested=False)


def _format_float(x: float) -> str | None:
    if -_FLOAT_INT_LIMIT < x < _FLOAT_INT_LIMIT:
        return int.__repr__(int(x)) if x.is_integer() else float.__repr__(x)
    if x != x:
        return None
    if math.isinf(x):
        raise ValueError(f"{float.__repr__(x)} cannot be sent")
    return float.__repr__(x)


def _format_decimal(d: decimal.Decimal) -> str | None:
    if d.is_nan():
        return None
    if d.is_infinite():
        raise ValueError(f"Decimal {d} cannot be sent")
    s = str(d)
    if ("E" in s or "e" in s) and -60 < d.adjusted() < 60:
        return format(d, "f")
    return s


def _format_other(value: object, *, nested: bool) -> str | None:
    """Everything but the exact built-in scalar types."""
    t = type(value)
    name = t.__name__
    if value is None:
        return None
    if name in _MISSING_TYPE_NAMES:
        return None
    if isinstance(value, str):
        return format_value(str.__str__(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.datetime, datetime.date)):
        if isinstance(value, datetime.datetime):
            return value.isoformat()
        return datetime.date.isoformat(value)
    if isinstance(value, decimal.Decimal):
        return _format_decimal(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _format_float(float(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        if nested:
            raise ValueError(f"a {name} inside a list cannot be sent; flatten it first")
        return _format_multi(value)
    if name in _NUMPY_BOOL_NAMES and t.__module__ == "numpy":
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return int.__repr__(int(value))
    if isinstance(value, numbers.Real):
        return _format_float(float(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise ValueError(f"value of type {name} cannot be sent; decode it first")
    raise ValueError(f"value of type {name} cannot be sent; convert it to a str first")


def _format_multi(
    values: list[object] | tuple[object, ...] | set[object] | frozenset[object],
) -> str | None:
    parts: list[str] = []
    for element in values:
        s = (
            format_value(element)
            if type(element) in (str, int, float, bool)
            else _format_other(element, nested=True)
        )
        if s is None:
            continue
        if "||" in s or s[0] == "|" or s[-1] == "|":
            raise ValueError(
                f"list element {s[:40]!r} contains '||' (the multi-value separator) or starts "
                "or ends with '|'"
            )
        parts.append(s)
    if not parts:
        return None
    if isinstance(values, (set, frozenset)):
        parts.sort()
    return "||" + "||".join(parts) + "||"


def _shown(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return f"a {type(value).__name__}"


def _check_date(value: object) -> str | None:
    if type(value) is str:
        if _date_match(value):
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a real day") from None
            return value
    elif type(value).__name__ in _MISSING_TYPE_NAMES:
        return None
    elif isinstance(value, datetime.date):
        day = value.date() if isinstance(value, datetime.datetime) else value
        return datetime.date.isoformat(day)
    elif format_value(value) is None:
        return None
    raise ValueError(
        f"{_shown(value)} is not a date: the field expects YYYY-MM-DD or a datetime.date"
    )


_ZULU = re.compile(r"[Zz]$")
_COMPACT_OFFSET = re.compile(r"([+-])(\d{2})(\d{2})$")
_FRACTION = re.compile(r"[.,](\d{1,6})(?=$|[+-])")


def _iso_for_any_python(text: str) -> str:
    """An ISO 8601 date and time as ``datetime.fromisoformat`` of Python 3.10 reads it: before
    3.11 it takes neither ``Z``, nor ``+0100``, nor a fraction that is not 3 or 6 digits."""
    text = _ZULU.sub("+00:00", text)
    text = _COMPACT_OFFSET.sub(r"\1\2:\3", text)
    return _FRACTION.sub(lambda m: "." + m.group(1).ljust(6, "0"), text)


def _check_datetime(value: object) -> str | None:
    if type(value) is str:
        if _datetime_match(value):
            try:
                datetime.datetime.fromisoformat(_iso_for_any_python(value))
            except ValueError:
                raise ValueError(f"{value!r} is not a real date and time") from None
            return value
    elif type(value).__name__ in _MISSING_TYPE_NAMES:
        return None
    elif isinstance(value, datetime.datetime):
        return value.isoformat()
    elif isinstance(value, datetime.date):
        return datetime.date.isoformat(value)
    elif format_value(value) is None:
        return None
    raise ValueError(
        f"{_shown(value)} is not a date and time: the field expects ISO 8601 "
        "(YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS with an optional offset) or a datetime.datetime"
    )


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


class _OneOf:
    """The check of a field with options: every value (or element) must be one of them, and
    is sent as the option is saved."""

    __slots__ = ("_named", "_saved")

    _SHOWN = 5

    def __init__(self, options: Sequence[str]) -> None:
        # A value matches an option saved with spaces around it, or in the other Unicode
        # composition ("é" or "e" + U+0301), and is sent as the option is saved; an exact
        # match wins over a loose one.
        self._saved: dict[str, str] = {}
        for option in options:
            self._saved.setdefault(_nfc(option.strip()), option)
        for option in options:
            self._saved[_nfc(option)] = option
        named = ", ".join(repr(o) for o in options[: self._SHOWN])
        more = len(options) - self._SHOWN
        self._named = named + (f" and {more:,} more" if more > 0 else "")

    def __call__(self, value: object) -> str | None:
        text = value if type(value) is str else format_value(value)
        if text is None:
            return None
        multi = len(text) > 4 and text.startswith("||") and text.endswith("||")
        parts = [p.strip() for p in text[2:-2].split("||")] if multi else [text]
        sent = []
        for part in parts:
            saved = self._saved.get(part)
            if saved is None:
                saved = self._saved.get(_nfc(part))
                if saved is None:
                    raise ValueError(
                        f"{_shown(part)} is not one of the field's options: {self._named}"
                    )
            sent.append(saved)
        return "||" + "||".join(sent) + "||" if multi else sent[0]


_TYPE_CHECKS = {"date": _check_date, "datetime": _check_datetime}
_OPTION_TYPES = frozenset({"dropdown", "radio", "listbox", "checkbox"})


def type_check(
    field_type: str, options: Sequence[str] = ()
) -> Callable[[object], str | None] | None:
    """The check for a custom field of ``field_type`` (``GET /fields``' ``type``) with
    ``options`` (the values of its options, if it has any), or None.

    The check takes a value (a string already stripped, never empty) and returns what to
    send, None for a missing value, or raises :class:`ValueError` saying what the field
    expects. See the module doc.
    """
    kind = field_type.strip().lower()
    if kind in _OPTION_TYPES:
        return _OneOf(options) if options else None
    return _TYPE_CHECKS.get(kind)
