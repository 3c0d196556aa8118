"""``acexport lists``, ``fields`` and ``check``: what a mapping needs, and a credentials check."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .._client import caller_of
from ._connection import connect, rate
from ._errors import EXIT_OK
from ._output import Output

__all__ = ["cmd_check", "cmd_fields", "cmd_lists"]


def _table(rows: Sequence[Sequence[str]], out: Output) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


def cmd_lists(args: argparse.Namespace, out: Output, err: Output) -> int:
    with connect(args, err, quiet=False) as client:
        lists = list(client.lists.list())
    if not lists:
        err.write("the account has no lists yet: create one in ActiveCampaign first\n")
        return EXIT_OK
    _table([("ID", "NAME"), *((str(item.id), item.name) for item in lists)], out)
    return EXIT_OK


def cmd_fields(args: argparse.Namespace, out: Output, err: Output) -> int:
    with connect(args, err, quiet=False) as client:
        fields = list(client.fields.list())
    if not fields:
        err.write("the account has no custom contact fields\n")
        return EXIT_OK
    _table(
        [
            ("ID", "PERSTAG", "TYPE", "TITLE"),
            *((str(f.id), f.perstag or "-", f.type or "-", f.title) for f in fields),
        ],
        out,
    )
    with_options = [f for f in fields if f.options]
    if with_options:
        out.write("\n")
        _table([("ID", "OPTIONS"), *((str(f.id), _options(f.options)) for f in with_options)], out)
    err.write("map one with: acexport export ... --field PERSTAG=COLUMN (or ID=COLUMN)\n")
    return EXIT_OK


def _options(values: Sequence[str], shown: int = 10) -> str:
    """A field's option values, quoted (a value may hold a comma), the first ``shown``."""
    more = len(values) - shown
    return ", ".join(repr(v) for v in values[:shown]) + (f" and {more:,} more" if more > 0 else "")


def cmd_check(args: argparse.Namespace, out: Output, err: Output) -> int:
    with connect(args, err, quiet=False) as client:
        user = client.users.me()
        config = caller_of(client).limits
        out.write(
            f"OK: {client.api_url} as {user.email or user.username} "
            f"({rate(config.requests_per_second, 'requests/s')}, "
            f"{rate(config.bulk_imports_per_minute, 'bulk imports/min')})\n"
        )
    return EXIT_OK
