"""The saved-exports file (``acexport.toml``): connections and exports, checked key by key.

Every mistake is one line naming the file, its line, the table and the key, and what to write
instead; all of them are collected and raised together as one :class:`ConfigError`. What
passes is structured with cattrs into the attrs classes below.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from .._exceptions import ConfigError
from .._exporter._membership import OnLeave
from .._state._postgres_util import is_postgres_url
from ._config_checks import CONNECTION, EXPORT, MAPPING, ON_LEAVE, PERCENT, REFUSED, Spec, show
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
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


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
    #: The environment variable holding a ``postgresql://`` state's password.
    state_password_env: str | None = None
    on_leave: OnLeave | None = None  # checked against ON_LEAVE when the file is read
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
    spec: Spec,
    required: dict[str, str],
) -> dict[str, Any] | None:
    """Check one table's keys against ``spec``; None when it is not a table at all."""
    if not isinstance(value, dict):
        problems.add(where, f"must be a table, not {show(value)}; write [{'.'.join(where)}]")
        return None
    for key, item in value.items():
        if key in REFUSED:
            problems.add((*where, key), REFUSED[key])
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
            problems, where, value, CONNECTION, {"api_url": 'api_url = "youraccount.api-us1.com"'}
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
    table = _table(problems, where, value, MAPPING, {"email": 'email = "Email"'})
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
                f"must name the column that fills the custom field, not {show(column)}; "
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
    table = _table(problems, where, value, EXPORT, _required(name))
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
    if "state_password_env" in table and not is_postgres_url(table.get("state")):
        problems.add(
            (*where, "state_password_env"),
            'names the password of a PostgreSQL state; it goes with state = "postgresql://..."',
        )
    if len(problems.found) != before:
        return None
    fields = dict(table)
    threshold = fields.pop("max_not_exported", 0)
    share = isinstance(threshold, str)
    if share:
        match = PERCENT.fullmatch(threshold.strip())
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
    if state is not None and not is_postgres_url(state):
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
