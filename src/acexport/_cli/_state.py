"""``acexport state PATH``: what a state file holds, and ``--forget EMAIL`` for erasure."""

from __future__ import annotations

import argparse

from .._exceptions import StateError
from .._state import SqliteState
from ._errors import EXIT_OK, EXIT_ROWS
from ._output import Output

__all__ = ["cmd_state"]


def cmd_state(args: argparse.Namespace, out: Output, err: Output) -> int:
    with SqliteState(args.path) as store:
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
    if not summaries:
        out.write(f"{args.path}: no export has been recorded here\n")
        return EXIT_OK
    for s in summaries:
        out.write(
            f"{s.account} list {s.list_id}: {s.confirmed:,} contacts confirmed, "
            f"{s.open_batches} open batch{'es' if s.open_batches != 1 else ''}\n"
        )
        if s.last_run is not None:
            when = s.last_run.get("finished_at") or s.last_run.get("recorded_at", "?")
            out.write(f"  last run {when}: {s.last_run.get('summary', '')}\n")
    return EXIT_OK
