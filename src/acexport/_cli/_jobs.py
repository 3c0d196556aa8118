"""What running or checking one saved export needs, shared by ``acexport run`` /
``validate`` and :func:`acexport.load_exports`: the mapping, the exporter's options, the
source (a file through the command line's readers, or a ``python:`` function), the
data-transfer notice, the client and the checks against the account."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping
from typing import Any

import anyio.from_thread
import httpx

from .._client import ActiveCampaign
from .._config import normalize_api_url
from .._exceptions import ConfigError, NotFoundError
from .._exporter._export import SegmentExporter
from .._exporter._mapping import FieldMapping, resolve_fields
from .._report import ExportReport
from .._state import PostgresState, StateStore
from ._config import Config, Connection, ExportConfig
from ._readers import Input
from ._secrets import api_key

__all__ = [
    "PythonSource",
    "check_account",
    "check_source",
    "client_for",
    "host_of",
    "make_exporter",
    "mapping_of",
    "not_exported",
    "notice",
    "open_source",
    "within_threshold",
]


def mapping_of(export: ExportConfig) -> FieldMapping:
    """The exporter's mapping."""
    m = export.mapping
    fields: dict[int | str, str] = dict(m.fields.items())
    return FieldMapping(
        m.email,
        first_name=m.first_name,
        last_name=m.last_name,
        phone=m.phone,
        fields=fields,
        tags=m.tags,
        key=m.key,
    )


def make_exporter(
    client: ActiveCampaign, export: ExportConfig, stack: contextlib.ExitStack, **options: Any
) -> SegmentExporter:
    """The exporter for ``export`` (``options``: the run's own, such as ``dry_run``, and a
    ``state`` in place of the export's for a sandbox run); a state store it opens is closed
    with ``stack``."""
    if export.max_leave is not None:
        options["max_leave"] = export.max_leave
    if "state" not in options:
        options["state"] = _state_of(export, stack)
    return SegmentExporter(
        client,
        export.list_id,
        mapping_of(export),
        exclude_automations=export.exclude_automations,
        on_leave=export.on_leave,
        **options,
    )


def _state_of(export: ExportConfig, stack: contextlib.ExitStack) -> str | StateStore | None:
    """The export's state: its path or URL, or, with ``state_password_env``, a PostgresState
    given the password from that environment variable (never from the file)."""
    variable = export.state_password_env
    if variable is None or export.state is None:
        return export.state
    password = os.environ.get(variable)
    if not password:
        raise ConfigError(
            f"exports.{export.name}.state_password_env: the environment variable {variable} "
            "is not set (it holds the password of the export's PostgreSQL state)"
        )
    store = PostgresState(export.state, password=password)
    stack.callback(store.close)
    return store


class PythonSource:
    """A ``python:package.module:function`` source: the function, imported (the config file's
    folder first on ``sys.path``) and called with no arguments, returns an iterable or an
    async iterable of profiles."""

    fraction = staticmethod(lambda: None)

    def __init__(self, spec: str, folder: str, where: str) -> None:
        self.name = spec
        module_name, _, function = spec.removeprefix("python:").partition(":")
        sys.path.insert(0, folder)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise ConfigError(
                f"{where}: source {spec!r}: cannot import {module_name}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        finally:
            if sys.path and sys.path[0] == folder:
                del sys.path[0]
        self.function = getattr(module, function, None)
        if not callable(self.function):
            raise ConfigError(
                f"{where}: source {spec!r}: {module_name} has no function {function!r}"
            )
        self._where = where

    def open(self) -> Iterator[object]:
        assert self.function is not None
        try:
            result = self.function()
        except Exception as exc:
            raise ConfigError(
                f"{self._where}: source {self.name!r} raised {type(exc).__name__}: {exc}"
            ) from None
        if isinstance(result, AsyncIterable):
            return _from_async(result)
        if isinstance(result, Iterable) and not isinstance(result, (str, bytes, Mapping)):
            return iter(result)
        raise ConfigError(
            f"{self._where}: source {self.name!r} returned {type(result).__name__}; it must "
            "return an iterable (a list, a generator) or an async iterable of profiles"
        )

    def close(self) -> None:
        return None


def _from_async(profiles: AsyncIterable[object]) -> Iterator[object]:
    """An async iterable read from a sync export, on an event loop in a helper thread."""
    iterator = profiles.__aiter__()

    async def step() -> object:
        return await iterator.__anext__()

    with anyio.from_thread.start_blocking_portal() as portal:
        try:
            while True:
                try:
                    item = portal.call(step)
                except StopAsyncIteration:
                    return
                yield item
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                portal.call(close)


class _Source:
    """An open source: its profiles, how much was read, and how to close it."""

    def __init__(self, name: str, profiles: Iterator[object], owner: Input | None) -> None:
        self.name = name
        self.profiles = profiles
        self._owner = owner

    def fraction(self) -> float | None:
        return None if self._owner is None else self._owner.fraction()

    def close(self) -> None:
        if self._owner is not None:
            self._owner.close()


def open_source(config: Config, export: ExportConfig) -> _Source:
    """Open the export's source: a file (its columns checked now) or a Python function."""
    where = f"{config.where(export)}: exports.{export.name}"
    if export.source.startswith("python:"):
        folder = _folder(config)
        python = PythonSource(export.source, folder, where)
        return _Source(export.source, python.open(), None)
    source = Input(
        export.source,
        export.format,
        export.mapping.columns(),
        encoding=export.encoding,
        delimiter=export.delimiter,
    )
    return _Source(export.source, source.profiles, source)


def _folder(config: Config) -> str:
    return os.path.dirname(os.path.abspath(config.path))


def check_source(config: Config, export: ExportConfig) -> None:
    """Raise (UsageError or ConfigError) when the source cannot be read or lacks a mapped
    column; a ``python:`` source is imported but not called."""
    if export.source.startswith("python:"):
        PythonSource(export.source, _folder(config), f"{config.where(export)}: {export.name}")
        return
    open_source(config, export).close()


def host_of(connection: Connection) -> str:
    return httpx.URL(normalize_api_url(connection.api_url)).host


def notice(config: Config, connection: Connection, exports: Iterable[ExportConfig]) -> str:
    """What leaves, to whom, and how to acknowledge it."""
    lines = [
        f"connection {connection.name!r} ({config.where(connection)}) has not acknowledged "
        "the data transfer, so nothing was sent.",
        "Running these exports sends personal data out of this system to ActiveCampaign, at "
        f"{host_of(connection)}:",
    ]
    for export in exports:
        m = export.mapping
        named = [("email", m.email), ("first name", m.first_name), ("last name", m.last_name)]
        named += [("phone", m.phone)]
        parts = [f"{what} (column {column})" for what, column in named if column]
        parts += [f"custom field {field} (column {column})" for field, column in m.fields.items()]
        if m.tags:
            parts.append("the tags " + ", ".join(m.tags))
        lines.append(
            f"  {export.name}: to list {export.list_id}, for every profile of "
            f"{export.source}: " + ", ".join(parts)
        )
    lines += [
        "ActiveCampaign then holds these contacts under its own terms, outside the compliance "
        "boundary of the system they come from.",
        f"If your organisation allows this transfer, acknowledge it in {config.path}, under "
        f"[connections.{connection.name}]:",
        "  data_transfer_acknowledged = true",
    ]
    return "\n".join(lines)


def not_exported(report: ExportReport) -> int:
    return report.invalid + report.rejected + report.failed


def within_threshold(export: ExportConfig, report: ExportReport) -> bool:
    """Whether the rows not exported stay within the export's ``max_not_exported``."""
    if report.cancelled:
        return False
    allowed = export.max_not_exported
    if export.max_not_exported_share:
        allowed = allowed * report.received
    return not_exported(report) <= allowed


def client_for(config: Config, connection: Connection, **options: Any) -> ActiveCampaign:
    """A client on the connection's account (the key resolved now)."""
    return ActiveCampaign(connection.api_url, api_key(config, connection), **options)


def check_account(client: ActiveCampaign, exports: Iterable[ExportConfig]) -> list[str]:
    """Each export's list and custom fields looked up (no contact sent): the problems found.

    Raises what the credentials check raises (a refused key, an unreachable host)."""
    client.users.me()
    problems: list[str] = []
    fields = None
    for export in exports:
        try:
            client.lists.get(export.list_id)
        except NotFoundError:
            problems.append(
                f"exports.{export.name}.list_id: list {export.list_id} does not exist in this "
                "account; `acexport lists` shows the list ids"
            )
        if export.mapping.fields:
            if fields is None:
                fields = list(client.fields.list())
            try:
                resolve_fields(mapping_of(export), fields)
            except ConfigError as exc:
                problems.append(f"exports.{export.name}.mapping.fields: {exc}")
    return problems
