"""The ``acexport`` argument parser: subcommands, options and their value types."""

from __future__ import annotations

import argparse
from typing import NoReturn

from .._config import API_KEY_ENV, API_URL_ENV
from .._exporter._membership import DEFAULT_MAX_LEAVE
from .._version import __version__
from ._account import cmd_check, cmd_fields, cmd_lists
from ._errors import ArgumentError
from ._export import cmd_export
from ._readers import FORMATS
from ._saved_parser import add_saved_commands
from ._state import cmd_state

__all__ = ["CONNECTION_OPTIONS", "build_parser"]

CONNECTION_OPTIONS = ("--sandbox", "--api-url", "--api-key")

_EPILOG = """\
Credentials come from ACTIVECAMPAIGN_API_URL and ACTIVECAMPAIGN_API_KEY (Settings -> Developer
in ActiveCampaign). --sandbox runs any subcommand against a built-in fake account instead.

Try it with no account:
  acexport export examples/sample_segment.csv --sandbox --list-id 1 --email Email \\
      --first-name FirstName --last-name LastName --phone Phone \\
      --field TIER=Tier --field BIRTHDAY=Birthday --tag sample

Exit codes: 0 all rows exported or skipped as duplicates; 1 some rows invalid, rejected or
failed (or the export stopped early); 2 usage or configuration error; 130 interrupted
(Ctrl-C); 143 stopped by SIGTERM. The first Ctrl-C or SIGTERM cancels gracefully.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ArgumentError(message, self.format_usage())


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive id")
    return value


def _field_pair(text: str) -> tuple[int | str, str]:
    key, sep, column = text.partition("=")
    key, column = key.strip(), column.strip()
    if not sep or not key or not column:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not ID_OR_PERSTAG=COLUMN (e.g. --field TIER=Tier or --field 7=Tier)"
        )
    if key.isascii() and key.isdigit():
        return int(key), column
    return key, column


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a fraction from 0 to 1 (0.1 = 10%)")
    return value


def _delimiter(text: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(text.lower(), text)
    if len(value) != 1 or value in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"{text!r} is not one character (e.g. --delimiter ';' or --delimiter tab)"
        )
    return value


def _connection_options() -> _Parser:
    parent = _Parser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group("connection")
    group.add_argument(
        "--sandbox",
        action="store_true",
        help="run against a built-in fake ActiveCampaign (list 1, fields TIER, BIRTHDAY, "
        "COMPANY); needs no account or credentials",
    )
    group.add_argument(
        "--api-url",
        metavar="URL",
        help=f"the account's API URL (overrides {API_URL_ENV})",
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"the API key; prefer {API_KEY_ENV}, as a key given here lands in shell history",
    )
    limits = parent.add_argument_group("client limits (default: ActiveCampaign's own)")
    limits.add_argument(
        "--requests-per-second",
        type=_rate,
        metavar="N",
        help="requests a second the client allows itself (default 5; higher with --sandbox)",
    )
    limits.add_argument(
        "--bulk-imports-per-minute",
        type=_rate,
        metavar="N",
        help="bulk imports (of up to 250 contacts) a minute (default 100; higher with --sandbox)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="acexport",
        description="Export customer segments into ActiveCampaign lists.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"acexport {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    conn = _connection_options()

    export = sub.add_parser(
        "export",
        parents=[conn],
        help="export a CSV / JSON Lines / JSON file of profiles onto a list",
        description="Stream profiles from a file (or - for standard input) onto an ActiveCampaign\n"
        "list: map, validate, dedupe by email and bulk-import them, then print a report.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    export.add_argument(
        "profiles",
        metavar="PROFILES",
        help="a .csv, .jsonl/.ndjson or .json (array) file, gzipped if it ends in .gz, or - "
        "for standard input",
    )
    reading = export.add_argument_group("input")
    reading.add_argument(
        "--format",
        choices=FORMATS,
        help="the input format (default: from the file's extension; csv for standard input)",
    )
    reading.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help="the file's text encoding: utf-8 (the default; a BOM is skipped), latin-1, "
        "cp1252, ... (ASCII-compatible encodings only)",
    )
    reading.add_argument(
        "--delimiter",
        type=_delimiter,
        default=",",
        metavar="CHAR",
        help="the CSV delimiter (default ','; ';' for CSVs from European Excel, tab)",
    )
    mapping = export.add_argument_group("mapping (COLUMN is a CSV column or a JSON key)")
    mapping.add_argument(
        "--list-id",
        type=_positive_int,
        required=True,
        metavar="N",
        help="the list to put contacts on (`acexport lists` shows the ids)",
    )
    mapping.add_argument("--email", required=True, metavar="COLUMN", help="the email column")
    mapping.add_argument("--first-name", metavar="COLUMN", help="the first-name column")
    mapping.add_argument("--last-name", metavar="COLUMN", help="the last-name column")
    mapping.add_argument("--phone", metavar="COLUMN", help="the phone column")
    mapping.add_argument(
        "--field",
        type=_field_pair,
        action="append",
        default=[],
        metavar="ID_OR_PERSTAG=COLUMN",
        help="a custom field (its id, perstag or title) and the column that fills it; "
        "repeatable (`acexport fields` lists them)",
    )
    mapping.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="NAME",
        help="a tag to put on every exported contact (created if missing); repeatable",
    )
    mapping.add_argument(
        "--key",
        metavar="COLUMN",
        help="a stable customer id column: with --state, a customer whose email changed has "
        "the email of their contact changed in place",
    )
    membership = export.add_argument_group("state and membership (docs/membership.md)")
    membership.add_argument(
        "--state",
        metavar="PATH",
        help="an SQLite file (created if missing) that remembers what was sent: rows unchanged "
        "since they were confirmed are not sent again, and a killed run resumes",
    )
    membership.add_argument(
        "--full-refresh",
        action="store_true",
        help="with --state: send every row again (still recorded)",
    )
    membership.add_argument(
        "--on-leave",
        choices=("unsubscribe", "untag"),
        help="contacts an earlier run exported that are no longer in the input: unsubscribe "
        "them from the list (an opt-out ActiveCampaign will not undo) or remove the --tag "
        "tags (needs --state)",
    )
    membership.add_argument(
        "--max-leave",
        type=_fraction,
        default=DEFAULT_MAX_LEAVE,
        metavar="FRACTION",
        help="remove nobody and stop when more than this share of the tracked contacts "
        f"would leave (default {DEFAULT_MAX_LEAVE:g}): guards against an empty or broken input",
    )
    run = export.add_argument_group("run")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="check credentials, list, fields and every row, but send no contact; also "
        "says how long sending would take at the client's limits",
    )
    run.add_argument(
        "--exclude-automations",
        action="store_true",
        help="do not start ActiveCampaign automations for the imported contacts",
    )
    run.add_argument(
        "--report",
        metavar="FILE.json",
        help="also write the report as JSON: every count, the count of each reason, and the "
        "first 10,000 row errors",
    )
    run.add_argument(
        "--errors",
        metavar="FILE.csv",
        help="write every row not exported (.csv or .jsonl): its cells, row number, kind and "
        "reason, to fix and export again",
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress or notes on stderr (errors still show; the summary goes to stdout)",
    )
    export.set_defaults(handler=cmd_export)

    state = sub.add_parser(
        "state",
        help="show what a state holds, forget one person, or copy a state to another store",
        description="acexport state PATH: per account and list, the contacts confirmed, the "
        "open batches and the last run. --forget EMAIL erases one person from every list in it "
        "(for erasure requests). acexport state copy FROM TO copies a state into an empty one "
        "(an SQLite file to PostgreSQL, say). PATH may be a postgresql:// URL (the password "
        "from PGPASSWORD or ~/.pgpass).",
        allow_abbrev=False,
    )
    state.add_argument("where", nargs="+", metavar="PATH", help="the state (or: copy FROM TO)")
    state.add_argument("--forget", metavar="EMAIL", help="erase this email from the state")
    state.set_defaults(handler=cmd_state)
    add_saved_commands(sub)

    for name, handler, text in (
        ("lists", cmd_lists, "list the account's lists (ids and names)"),
        ("fields", cmd_fields, "list the custom contact fields (ids, perstags, titles, types)"),
        ("check", cmd_check, "check the credentials and show the client's rate limits"),
    ):
        command = sub.add_parser(
            name,
            parents=[conn],
            help=text,
            description=text[0].upper() + text[1:] + ".",
            allow_abbrev=False,
        )
        command.set_defaults(handler=handler)
    return parser
