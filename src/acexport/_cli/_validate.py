"""``acexport validate [NAME ...]`` (check the file, the sources and the account; send no
contact) and ``acexport exports`` (the saved exports and each one's last run)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from contextlib import closing

from .._exceptions import APIError, ConfigError, StateError
from .._state import open_store
from .._state._postgres_util import is_postgres_url
from ._config import Config, ExportConfig
from ._errors import EXIT_OK, EXIT_USAGE, UsageError
from ._jobs import check_account, check_source, host_of
from ._output import Output
from ._run import clients, load, said, select

__all__ = ["cmd_exports", "cmd_validate", "problems_of"]


def _sources(config: Config, exports: Sequence[ExportConfig]) -> list[str]:
    found = []
    for export in exports:
        try:
            check_source(config, export)
        except (UsageError, ConfigError) as exc:
            text = str(exc)
            prefix = f"{config.where(export)}: "
            found.append(
                text
                if text.startswith(config.path)
                else f"{prefix}exports.{export.name}.source: {text}"
            )
    return found


def problems_of(
    config: Config, exports: Sequence[ExportConfig], args: argparse.Namespace, err: Output
) -> list[str]:
    """Every problem of ``exports``: sources, acknowledgements, keys, lists and fields."""
    found = _sources(config, exports)
    by_connection: dict[str, list[ExportConfig]] = {}
    for export in exports:
        by_connection.setdefault(export.connection, []).append(export)
    if not args.sandbox:
        for name in by_connection:
            connection = config.connections[name]
            if not connection.data_transfer_acknowledged:
                found.append(
                    f"{config.where(connection)}: connections.{name}: the transfer of personal "
                    f"data to {host_of(connection)} is not acknowledged, so `acexport run` "
                    "refuses to send; after reading docs/saved-exports.md, write "
                    "data_transfer_acknowledged = true"
                )
    for name, used in by_connection.items():
        try:
            with clients(config, used, args, err) as made:
                for problem in check_account(made[name], used):
                    export = next(e for e in used if problem.startswith(f"exports.{e.name}."))
                    found.append(f"{config.where(export)}: {problem}")
        except (ConfigError, UsageError) as exc:
            found.append(str(exc))
        except APIError as exc:
            connection = config.connections[name]
            found.append(f"{config.where(connection)}: connections.{name}: {said(exc, connection)}")
    return found


def cmd_validate(args: argparse.Namespace, out: Output, err: Output) -> int:
    config = load(args, err)
    if config is None:
        return EXIT_USAGE
    exports = select(config, args.names, every=not args.names)
    found = problems_of(config, exports, args, err)
    for line in found:
        err.write(f"acexport: error: {line}\n")
    if found:
        return EXIT_USAGE
    names = ", ".join(e.name for e in exports)
    out.write(
        f"OK: {config.path}: {len(exports)} export{'s' if len(exports) != 1 else ''} checked "
        f"({names}): sources readable, credentials, lists and fields found; nothing was sent\n"
    )
    return EXIT_OK


def _last_run(export: ExportConfig) -> str:
    if export.state is None:
        return 'no state (add state = "..." to remember runs)'
    if not is_postgres_url(export.state) and not os.path.exists(export.state):
        return "never run (no state file yet)"
    try:
        with closing(open_store(export.state)) as store:
            summaries = [s for s in store.summaries() if s.list_id == export.list_id]
    except (StateError, ConfigError) as exc:
        return f"state unreadable: {exc}"
    runs = [s.last_run for s in summaries if s.last_run is not None]
    if not runs:
        return "never run"
    last = max(runs, key=lambda r: float(r.get("recorded_at", 0)))
    when = last.get("finished_at") or last.get("recorded_at", "?")
    first = str(last.get("summary", "")).splitlines()[:1]
    return f"{when}: {first[0] if first else ''}"


def cmd_exports(args: argparse.Namespace, out: Output, err: Output) -> int:
    config = load(args, err)
    if config is None:
        return EXIT_USAGE
    for export in config.exports.values():
        out.write(
            f"{export.name}: connection {export.connection} "
            f"({host_of(config.connections[export.connection])}), list {export.list_id}, "
            f"source {export.source}\n"
        )
        out.write(f"  last run: {_last_run(export)}\n")
    return EXIT_OK
