"""``acexport state``: what a state holds, ``--forget EMAIL`` for erasure, and ``copy FROM TO``.

A state is a path (an SQLite file) or a ``postgresql://`` URL (the password from PGPASSWORD or
~/.pgpass, never on the command line)."""

from __future__ import annotations

import argparse
from contextlib import closing

from .._exceptions import StateError
from .._state import copy_state, open_store
from ._errors import EXIT_OK, EXIT_ROWS, UsageError
from ._output import Output

__all__ = ["cmd_state"]


def cmd_state(args: argparse.Namespace, out: Output, err: Output) -> int:
    where: list[str] = args.where
    if where[0] == "copy":
        if len(where) != 3:
            raise UsageError("acexport state copy FROM TO: give the state to copy and where to")
        return _copy(where[1], where[2], out)
    if len(where) != 1:
        raise UsageError("acexport state PATH (or: acexport state copy FROM TO)")
    with closing(open_store(where[0])) as store:
        if args.forget is not None:
            try:
                removed = store.forget(args.forget)
            except StateError as exc:
                err.write(f"acexport: error: {exc}\n")
                return EXIT_ROWS
            out.write(
                f"forgot {args.forget.strip()}: {removed} row{'s' if removed != 1 else ''} "
                f"removed from {store.location}\n"
            )
            return EXIT_OK
        summaries = store.summaries()
        location = store.location
    if not summaries:
        out.write(f"{location}: no export has been recorded here\n")
        return EXIT_OK
    for s in summaries:
        out.write(
            f"{s.account} list {s.list_id}: {s.confirmed:,} contacts confirmed, "
            f"{s.open_batches} open batch{'es' if s.open_batches != 1 else ''}\n"
        )
        if s.last_run is not None:
            when = s.last_run.get("finished_at") or s.last_run.get("recorded_at", "?")
            first = str(s.last_run.get("summary", "")).splitlines()[:1]
            out.write(f"  last run {when}: {first[0] if first else ''}\n")
    return EXIT_OK


def _copy(source: str, target: str, out: Output) -> int:
    with closing(open_store(source)) as src, closing(open_store(target)) as dst:
        copied = copy_state(src, dst)
        where = dst.location
    for s in copied:
        out.write(
            f"copied {s.account} list {s.list_id}: {s.confirmed:,} contacts confirmed, "
            f"{s.open_batches} open batches, to {where}\n"
        )
    if not copied:
        out.write(f"{source}: nothing to copy\n")
    return EXIT_OK
