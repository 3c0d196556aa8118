"""Saved exports from Python: :func:`load_exports` reads the same ``acexport.toml`` as
``acexport run`` and returns each export, ready to ``run()`` or ``validate()``."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._cli._config import Config, ExportConfig, load_config
from ._cli._errors import UsageError
from ._cli._jobs import (
    check_account,
    check_source,
    client_for,
    make_exporter,
    notice,
    open_source,
    within_threshold,
)
from ._exceptions import APIError, ConfigError
from ._report import ExportProgress, ExportReport

__all__ = ["SavedExport", "load_exports"]


class SavedExport:
    """One ``[exports.NAME]`` of the file: ``name``, ``connection``, ``list_id``, ``source``
    (resolved against the file's folder), ``state``; :meth:`run` and :meth:`validate`."""

    def __init__(self, config: Config, export: ExportConfig) -> None:
        self._config = config
        self._export = export

    @property
    def name(self) -> str:
        """The export's name: ``[exports.NAME]``."""
        return self._export.name

    @property
    def connection(self) -> str:
        """The name of the connection it uses."""
        return self._export.connection

    @property
    def list_id(self) -> int:
        """The list it exports to."""
        return self._export.list_id

    @property
    def source(self) -> str:
        """The source: a file path (resolved against the file's folder) or ``python:...``."""
        return self._export.source

    @property
    def state(self) -> str | None:
        """The state file's path (resolved against the file's folder), or None."""
        return self._export.state

    def __repr__(self) -> str:
        return (
            f"SavedExport({self.name!r}, connection={self.connection!r}, "
            f"list_id={self.list_id}, source={self.source!r})"
        )

    def run(
        self,
        *,
        dry_run: bool = False,
        on_progress: Callable[[ExportProgress], Any] | None = None,
        cancel: threading.Event | None = None,
    ) -> ExportReport:
        """Run the export and return its report.

        Refused with :class:`~acexport.ConfigError` before any request when the connection
        has not acknowledged the data transfer (the message says what leaves, to whom, and how
        to acknowledge), when the API key cannot be had, or when the source cannot be read or
        lacks a mapped column. Raises :class:`~acexport.ExportError` (with its report) when
        the export stops early, like :meth:`SegmentExporter.export`.
        """
        config, export = self._config, self._export
        connection = config.connections[export.connection]
        if not connection.data_transfer_acknowledged:
            raise ConfigError(notice(config, connection, [export]))
        with contextlib.ExitStack() as stack:
            client = stack.enter_context(client_for(config, connection))
            try:
                source = open_source(config, export)
            except UsageError as exc:
                raise ConfigError(f"{config.where(export)}: exports.{export.name}: {exc}") from None
            stack.callback(source.close)
            exporter = make_exporter(
                client, export, stack, dry_run=dry_run, on_progress=on_progress, cancel=cancel
            )
            return exporter.export(source.profiles)

    def held(self, report: ExportReport) -> bool:
        """Whether ``report``'s rows not exported stay within the export's
        ``max_not_exported`` (what makes ``acexport run`` exit 0)."""
        return within_threshold(self._export, report)

    def validate(self) -> tuple[str, ...]:
        """The export's problems, one line each (empty when it is ready to run): its source
        and mapped columns, the acknowledgement, the API key, and the list and custom fields
        looked up in the account. Sends no contact."""
        config, export = self._config, self._export
        connection = config.connections[export.connection]
        problems: list[str] = []
        try:
            check_source(config, export)
        except (UsageError, ConfigError) as exc:
            problems.append(f"{config.where(export)}: exports.{export.name}.source: {exc}")
        if not connection.data_transfer_acknowledged:
            problems.append(
                f"{config.where(connection)}: connections.{connection.name}: the data transfer "
                "is not acknowledged; write data_transfer_acknowledged = true"
            )
        try:
            with client_for(config, connection) as client:
                found = check_account(client, [export])
            problems += [f"{config.where(export)}: {p}" for p in found]
        except ConfigError as exc:
            problems.append(str(exc))
        except APIError as exc:  # a refused key, an unreachable host
            problems.append(f"{config.where(connection)}: connections.{connection.name}: {exc}")
        return tuple(problems)


def load_exports(path: str | os.PathLike[str] = "acexport.toml") -> Mapping[str, SavedExport]:
    """The saved exports of the file at ``path``, by name, in the file's order.

    Every mistake in the file is raised at once as one :class:`~acexport.ConfigError`, a line
    each naming the file, line, export and key, and what to write instead.
    """
    config = load_config(path)
    return {name: SavedExport(config, export) for name, export in config.exports.items()}
