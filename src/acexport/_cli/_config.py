"""The saved-exports file (``acexport.toml``): connections and exports, checked key by key.

Every mistake is one line naming the file, its line, the table and the key, and what to write
instead; all of them are collected and raised together as one :class:`ConfigError`. What
passes is structured with cattrs into the attrs classes below.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

from .._config import normalize_api_url
from .._exceptions import ConfigError
from ._toml import Lines, read_toml

__all__ = [
    "DEFAULT_CONFIG",
    "ON_LEAVE",
    "Config",
    "Connection",
    "ExportConfig",
    "MappingConfig",
    "load_config",
]

DEFAULT_CONFIG = "acexport.toml"
ON_LEAVE = ("unsubscribe", "untag")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_PYTHON = re.compile(r"python:([A-Za-z_][\w.]*):([A-Za-z_]\w*)")
_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")
_FORMATS = ("csv", "jsonl", "json", "parquet")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


@attrs.frozen
class Connection:
    """``[connections.NAME]``: where the exports go and where the API key comes from."""

    name: str
    api_url: str
    api_key_env: str | None = None
    api_key_command: str | tuple[str, ...] | None = None
    data_transfer_acknowledged: bool = False
    line: int | None = None


@attrs.frozen
class MappingConfig:
    """``[exports.NAME.mapping]``: the columns (or JSON keys) that fill each contact field."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    key: str | None = None
    tags: tuple[str, ...] = ()
    fields: dict[str, str] = attrs.Factory(dict)

    def columns(self) -> list[str]:
        """Every column the mapping reads, once each."""
        named = [self.email, self.first_name, self.last_name, self.phone, self.key]
        return list(dict.fromkeys([c for c in named if c] + list(self.fields.values())))


@attrs.frozen
class ExportConfig:
    """``[exports.NAME]``: one saved export. ``source`` is resolved against the file's folder
    (unless it is a ``python:`` source); so is ``state``."""

    name: str
    connection: str
    list_id: int
    source: str
    mapping: MappingConfig
    state: str | None = None
    on_leave: str | None = None
    max_leave: float | None = None
    exclude_automations: bool = False
    format: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    #: Rows not exported (invalid, rejected, failed) the export tolerates: a count, or a
    #: share of the rows read (``"2%"`` is stored as 0.02 with ``share=True``).
    max_not_exported: float = 0
    max_not_exported_share: bool = False
    line: int | None = None


@attrs.frozen
class Config:
    """The whole file: where it is, its connections and its exports (by name, file order)."""

    path: str
    connections: dict[str, Connection]
    exports: dict[str, ExportConfig]

    def where(self, item: ExportConfig | Connection) -> str:
        return f"{self.path}:{item.line}" if item.line else self.path


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(
    str | tuple[str, ...] | None,
    lambda value, _: value if value is None or isinstance(value, str) else tuple(value),
)


# --- checks: each returns None (fine) or what is wrong and what to write instead ----------


def _show(value: object) -> str:
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
        return f"must be a non-empty string, not {_show(value)}; write {key} = {example}"

    return check


def _flag(key: str, value: object) -> str | None:
    if isinstance(value, bool):
        return None
    return f"must be true or false (no quotes), not {_show(value)}; write {key} = true"


def _list_id(key: str, value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return None
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return f"is a string; write list_id = {int(value)} (no quotes)"
    return (
        f"must be a list id, a whole number above 0, not {_show(value)}; write list_id = 3 "
        "(`acexport lists` shows the ids)"
    )


def _source(key: str, value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f'must be a file path or "python:package.module:function", not {_show(value)}'
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
        return f'must be {allowed}, not {_show(value)}; write {key} = "{write}"'

    return check


def _max_leave(key: str, value: object) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1:
        return None
    return (
        f"must be a fraction of the list above 0 and at most 1, not {_show(value)}; write "
        "max_leave = 0.05 (at most 5% of the list's contacts leave in one run)"
    )


def _delimiter(key: str, value: object) -> str | None:
    if isinstance(value, str) and len(value) == 1 and value not in '"\r\n':
        return None
    return f'must be one character, not {_show(value)}; write delimiter = ";"'


def _threshold(key: str, value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value.strip())
        if match and float(match.group(1)) <= 100:
            return None
    return (
        f"must be a number of rows (0 or more) or a share of the rows read, not "
        f'{_show(value)}; write max_not_exported = 10 or max_not_exported = "2%"'
    )


def _tags(key: str, value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(t, str) and t.strip() for t in value):
        return None
    if isinstance(value, str):
        return f'must be an array of tag names; write tags = ["{value}"]'
    return f'must be an array of non-empty tag names, not {_show(value)}; write tags = ["vip"]'


def _command(key: str, value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return None
    if isinstance(value, list) and value and all(isinstance(p, str) and p for p in value):
        return None
    return (
        f"must be a command line (a string or an array of strings), not {_show(value)}; "
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


_Spec = dict[str, Callable[[str, object], "str | None"]]
_CONNECTION: _Spec = {
    "api_url": _api_url,
    "api_key_env": _env_name,
    "api_key_command": _command,
    "data_transfer_acknowledged": _flag,
}
_COLUMN = _text('"ColumnName"')
_MAPPING: _Spec = {
    "email": _text('"Email"'),
    "first_name": _COLUMN,
    "last_name": _COLUMN,
    "phone": _COLUMN,
    "key": _text('"CustomerId"'),
    "tags": _tags,
    "fields": lambda key, value: None,  # a table, checked key by key
}
_EXPORT: _Spec = {
    "connection": _text('"main"'),
    "list_id": _list_id,
    "source": _source,
    "mapping": lambda key, value: None,  # a table, checked key by key
    "state": _text('"state/vip.sqlite"'),
    "on_leave": _choice(ON_LEAVE),
    "max_leave": _max_leave,
    "exclude_automations": _flag,
    "format": _choice(_FORMATS),
    "encoding": _text('"utf-8"'),
    "delimiter": _delimiter,
    "max_not_exported": _threshold,
}
_REFUSED = {
    "api_key": (
        "a literal API key is refused: the file is meant to be checked in, and a key in it "
        'leaks with the repository; write api_key_env = "ACTIVECAMPAIGN_API_KEY" (and export '
        'the key there) or api_key_command = "pass show activecampaign"'
    )
}


class _Problems:
    def __init__(self, path: str, lines: Lines) -> None:
        self.path, self.lines, self.found = path, lines, []  # type: ignore[var-annotated]

    def add(self, where: tuple[str, ...], message: str) -> None:
        line = self.lines.of(*where)
        place = f"{self.path}:{line}" if line else self.path
        self.found.append(f"{place}: {'.'.join(where)}: {message}")


def _table(
    problems: _Problems,
    where: tuple[str, ...],
    value: object,
    spec: _Spec,
    required: dict[str, str],
) -> dict[str, Any] | None:
    """Check one table's keys against ``spec``; None when it is not a table at all."""
    if not isinstance(value, dict):
        problems.add(where, f"must be a table, not {_show(value)}; write [{'.'.join(where)}]")
        return None
    for key, item in value.items():
        if key in _REFUSED:
            problems.add((*where, key), _REFUSED[key])
        elif key not in spec:
            close = difflib.get_close_matches(key, list(spec), n=1)
            hint = f'did you mean "{close[0]}"?' if close else f"the keys are {', '.join(spec)}"
            problems.add((*where, key), f"unknown key; {hint}")
        else:
            problem = spec[key](key, item)
            if problem is not None:
                problems.add((*where, key), problem)
    for key, example in required.items():
        if key not in value:
            problems.add(where, f"{key} is missing; add {example}")
    return value


def _check_name(problems: _Problems, where: tuple[str, ...], name: str) -> None:
    if not _NAME.fullmatch(name):
        problems.add(
            where,
            f"the name {name!r} is used for report files and on the command line: use "
            "letters, digits, '_', '-' or '.' (e.g. [exports.vip_customers])",
        )


def _connections(problems: _Problems, data: dict[str, Any]) -> dict[str, Connection]:
    section = data.get("connections")
    if section is None:
        problems.add(
            (),
            "there is no [connections.NAME] section; add one, e.g. [connections.main] with "
            'api_url = "youraccount.api-us1.com" and api_key_env = "ACTIVECAMPAIGN_API_KEY"',
        )
        return {}
    if not isinstance(section, dict):
        problems.add(("connections",), "must be tables; write [connections.main]")
        return {}
    result = {}
    for name, value in section.items():
        where = ("connections", name)
        _check_name(problems, where, name)
        before = len(problems.found)
        table = _table(
            problems, where, value, _CONNECTION, {"api_url": 'api_url = "youraccount.api-us1.com"'}
        )
        if table is None:
            continue
        sources = [k for k in ("api_key_env", "api_key_command") if k in table]
        if len(sources) != 1 and "api_key" not in table:
            problems.add(
                where,
                "give exactly one of api_key_env and api_key_command, not "
                + (" and ".join(sources) if sources else "neither")
                + '; e.g. api_key_env = "ACTIVECAMPAIGN_API_KEY"',
            )
        if len(problems.found) == before:
            result[name] = _converter.structure(
                {**table, "name": name, "line": problems.lines.of(*where)}, Connection
            )
    return result


def _mapping(problems: _Problems, where: tuple[str, ...], value: object) -> bool:
    table = _table(problems, where, value, _MAPPING, {"email": 'email = "Email"'})
    if table is None:
        return False
    fields = table.get("fields", {})
    if not isinstance(fields, dict):
        problems.add((*where, "fields"), f"must be a table; write [{'.'.join(where)}.fields]")
        return False
    for field, column in fields.items():
        if not isinstance(column, str) or not column.strip():
            problems.add(
                (*where, "fields", field),
                f"must name the column that fills the custom field, not {_show(column)}; "
                f'write {field} = "ColumnName"',
            )
    return True


def _required(name: str) -> dict[str, str]:
    return {
        "connection": 'connection = "main"',
        "list_id": "list_id = 3",
        "source": 'source = "segments/vip.csv"',
        "mapping": f'[exports.{name}.mapping] with email = "Email"',
    }


def _export(
    problems: _Problems, name: str, value: object, connections: Mapping[str, object]
) -> ExportConfig | None:
    where = ("exports", name)
    _check_name(problems, where, name)
    before = len(problems.found)
    table = _table(problems, where, value, _EXPORT, _required(name))
    if table is None:
        return None
    if "mapping" in table:
        _mapping(problems, (*where, "mapping"), table["mapping"])
    connection = table.get("connection")
    if isinstance(connection, str) and connection not in connections:
        close = difflib.get_close_matches(connection, list(connections), n=1)
        known = ", ".join(connections) or "none"
        hint = f'write connection = "{close[0]}"' if close else f"the file defines: {known}"
        problems.add((*where, "connection"), f"no [connections.{connection}]; {hint}")
    if "max_leave" in table and "on_leave" not in table:
        problems.add(
            (*where, "max_leave"),
            'goes with on_leave; add on_leave = "untag" (or "unsubscribe"), or remove max_leave',
        )
    if len(problems.found) != before:
        return None
    fields = dict(table)
    threshold = fields.pop("max_not_exported", 0)
    share = isinstance(threshold, str)
    if share:
        match = _PERCENT.fullmatch(threshold.strip())
        assert match is not None
        threshold = float(match.group(1)) / 100
    mapping = dict(fields.pop("mapping"))
    mapping["tags"] = tuple(mapping.get("tags", ()))
    fields["mapping"] = mapping
    return _converter.structure(
        {
            **fields,
            "name": name,
            "max_not_exported": threshold,
            "max_not_exported_share": share,
            "line": problems.lines.of(*where),
        },
        ExportConfig,
    )


def _resolve(folder: str, export: ExportConfig) -> ExportConfig:
    """Relative paths are relative to the file's folder, not the working directory."""
    source = export.source
    if not source.startswith("python:"):
        source = os.path.join(folder, os.path.expanduser(source))
    state = export.state
    if state is not None:
        state = os.path.join(folder, os.path.expanduser(state))
    return attrs.evolve(export, source=source, state=state)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check the file; every mistake at once, as one ConfigError (a line each)."""
    path = os.fspath(path)
    data, lines = read_toml(path)
    problems = _Problems(path, lines)
    for key in data:
        if key not in ("connections", "exports"):
            close = difflib.get_close_matches(key, ["connections", "exports"], n=1)
            hint = f"did you mean [{close[0]}.NAME]?" if close else "the file holds "
            problems.add(
                (key,),
                "unknown section; "
                + (hint if close else hint + "[connections.NAME] and [exports.NAME] tables"),
            )
    connections = _connections(problems, data)
    declared = data.get("connections")
    names: Mapping[str, object] = declared if isinstance(declared, dict) else {}
    exports: dict[str, ExportConfig] = {}
    section = data.get("exports")
    if section is None:
        problems.add(
            (),
            "there is no [exports.NAME] section; add one, e.g. [exports.vip] with connection, "
            "list_id, source and [exports.vip.mapping] email",
        )
    elif not isinstance(section, dict):
        problems.add(("exports",), "must be tables; write [exports.vip]")
    else:
        for name, value in section.items():
            export = _export(problems, name, value, names)
            if export is not None:
                exports[name] = export
    if problems.found:
        raise ConfigError("\n".join(problems.found))
    folder = os.path.dirname(os.path.abspath(path))
    resolved = {name: _resolve(folder, e) for name, e in exports.items()}
    return Config(path=path, connections=connections, exports=resolved)
