"""The checks of the saved-exports file's values: each takes the key and the value and returns
None (fine) or what is wrong and what to write instead; and which keys each table takes."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from .._config import normalize_api_url
from .._exceptions import ConfigError

__all__ = ["CONNECTION", "EXPORT", "MAPPING", "ON_LEAVE", "PERCENT", "REFUSED", "Spec", "show"]

ON_LEAVE = ("unsubscribe", "untag")
_PYTHON = re.compile(r"python:([A-Za-z_][\w.]*):([A-Za-z_]\w*)")
_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")
_FORMATS = ("csv", "jsonl", "json", "parquet")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def show(value: object) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "the string"}
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    name = kind.get(type(value), type(value).__name__)
    if isinstance(value, str):
        return f"{name} {value[:40]!r}"
    return f"{name} {value!r}"


def _text(example: str) -> Callable[[str, object], str | None]:
    def check(key: str, value: object) -> str | None:
        if isinstance(value, str) and value.strip():
            return None
        return f"must be a non-empty string, not {show(value)}; write {key} = {example}"

    return check


def _flag(key: str, value: object) -> str | None:
    if isinstance(value, bool):
        return None
    return f"must be true or false (no quotes), not {show(value)}; write {key} = true"


def _list_id(key: str, value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return None
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return f"is a string; write list_id = {int(value)} (no quotes)"
    return (
        f"must be a list id, a whole number above 0, not {show(value)}; write list_id = 3 "
        "(`acexport lists` shows the ids)"
    )


def _source(key: str, value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f'must be a file path or "python:package.module:function", not {show(value)}'
    if value.startswith("python:"):
        if _PYTHON.fullmatch(value):
            return None
        return (
            f"{value!r} is not a Python source; write source = "
            '"python:package.module:function" (the function takes no arguments)'
        )
    base = value.lower().removesuffix(".gz")
    if base.endswith(_SUFFIXES):
        return None
    return (
        f"cannot tell the format of {value!r}: name a .csv, .jsonl, .ndjson, .json (each "
        'optionally .gz) or .parquet file, or add format = "csv"'
    )


def _choice(options: tuple[str, ...]) -> Callable[[str, object], str | None]:
    def check(key: str, value: object) -> str | None:
        if value in options:
            return None
        close = difflib.get_close_matches(str(value), options, n=1)
        write = close[0] if close else options[0]
        allowed = " or ".join(f'"{o}"' for o in options)
        return f'must be {allowed}, not {show(value)}; write {key} = "{write}"'

    return check


def _max_leave(key: str, value: object) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1:
        return None
    return (
        f"must be a fraction of the list above 0 and at most 1, not {show(value)}; write "
        "max_leave = 0.05 (at most 5% of the list's contacts leave in one run)"
    )


def _delimiter(key: str, value: object) -> str | None:
    if isinstance(value, str) and len(value) == 1 and value not in '"\r\n':
        return None
    return f'must be one character, not {show(value)}; write delimiter = ";"'


def _threshold(key: str, value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    if isinstance(value, str):
        match = PERCENT.fullmatch(value.strip())
        if match and float(match.group(1)) <= 100:
            return None
    return (
        f"must be a number of rows (0 or more) or a share of the rows read, not "
        f'{show(value)}; write max_not_exported = 10 or max_not_exported = "2%"'
    )


def _tags(key: str, value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(t, str) and t.strip() for t in value):
        return None
    if isinstance(value, str):
        return f'must be an array of tag names; write tags = ["{value}"]'
    return f'must be an array of non-empty tag names, not {show(value)}; write tags = ["vip"]'


def _command(key: str, value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return None
    if isinstance(value, list) and value and all(isinstance(p, str) and p for p in value):
        return None
    return (
        f"must be a command line (a string or an array of strings), not {show(value)}; "
        'write api_key_command = "pass show activecampaign"'
    )


def _api_url(key: str, value: object) -> str | None:
    problem = _text('"youraccount.api-us1.com"')(key, value)
    if problem is not None:
        return problem
    try:
        normalize_api_url(str(value))
    except ConfigError as exc:
        return f'{exc}; write api_url = "youraccount.api-us1.com"'
    return None


def _env_name(key: str, value: object) -> str | None:
    problem = _text('"ACTIVECAMPAIGN_API_KEY"')(key, value)
    if problem is not None:
        return problem
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(value)) and not re.search(
        r"[0-9a-f]{32,}", str(value), re.IGNORECASE
    ):
        return None
    # Never echo it: it may be the key itself.
    return (
        "must name an environment variable (the key itself does not go in the file); "
        'write api_key_env = "ACTIVECAMPAIGN_API_KEY" and export the key in that variable'
    )


Spec = dict[str, Callable[[str, object], "str | None"]]
CONNECTION: Spec = {
    "api_url": _api_url,
    "api_key_env": _env_name,
    "api_key_command": _command,
    "data_transfer_acknowledged": _flag,
}
_COLUMN = _text('"ColumnName"')
MAPPING: Spec = {
    "email": _text('"Email"'),
    "first_name": _COLUMN,
    "last_name": _COLUMN,
    "phone": _COLUMN,
    "key": _text('"CustomerId"'),
    "tags": _tags,
    "fields": lambda key, value: None,  # a table, checked key by key
}
EXPORT: Spec = {
    "connection": _text('"main"'),
    "list_id": _list_id,
    "source": _source,
    "mapping": lambda key, value: None,  # a table, checked key by key
    "state": _text('"state/vip.sqlite"'),
    "state_password_env": _text('"ACEXPORT_STATE_PASSWORD"'),
    "on_leave": _choice(ON_LEAVE),
    "max_leave": _max_leave,
    "exclude_automations": _flag,
    "format": _choice(_FORMATS),
    "encoding": _text('"utf-8"'),
    "delimiter": _delimiter,
    "max_not_exported": _threshold,
}
REFUSED = {
    "api_key": (
        "a literal API key is refused: the file is meant to be checked in, and a key in it "
        'leaks with the repository; write api_key_env = "ACTIVECAMPAIGN_API_KEY" (and export '
        'the key there) or api_key_command = "pass show activecampaign"'
    )
}
