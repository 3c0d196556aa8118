"""The options of the saved-export commands: ``run``, ``validate`` and ``exports``."""

from __future__ import annotations

from typing import Any

from ._config import DEFAULT_CONFIG
from ._run import cmd_run
from ._validate import cmd_exports, cmd_validate

__all__ = ["add_saved_commands"]

_CONFIG_HELP = (
    f"the saved-exports file (default: {DEFAULT_CONFIG} in the working directory); relative "
    "paths in it are relative to its own folder"
)
_SANDBOX_HELP = (
    "run against a built-in fake ActiveCampaign (list 1, fields TIER, BIRTHDAY, COMPANY) "
    "instead of the connections' accounts; no credentials needed and nothing leaves"
)


def add_saved_commands(sub: Any) -> None:
    """Add ``run``, ``validate`` and ``exports`` to the parser's subcommands."""

    run = sub.add_parser(
        "run",
        help="run saved exports from the config file (acexport.toml)",
        description="Run the named saved exports (or --all) from the config file, one after "
        "the other, each like `acexport export`. Exit 0 when every export held, 1 when one "
        "had more rows not exported than its max_not_exported (or stopped early), 2 on a "
        "configuration or usage error.",
        allow_abbrev=False,
    )
    run.add_argument("names", nargs="*", metavar="NAME", help="the exports to run")
    run.add_argument("--all", action="store_true", help="run every export in the file")
    run.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE", help=_CONFIG_HELP)
    run.add_argument("--sandbox", action="store_true", help=_SANDBOX_HELP)
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="check credentials, lists, fields and every row, but send no contact",
    )
    run.add_argument(
        "--report-dir",
        metavar="DIR",
        help="write each export's full report to DIR/NAME.json",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress or notes on stderr")
    run.set_defaults(handler=cmd_run)

    validate = sub.add_parser(
        "validate",
        help="check the config file, its sources and the accounts; sends no contact",
        description="Check the config file (every mistake at once, with its line), each "
        "export's source and mapped columns, and each connection against its account: "
        "credentials, lists, custom fields. Sends no contact. Exit 0 or 2.",
        allow_abbrev=False,
    )
    validate.add_argument(
        "names", nargs="*", metavar="NAME", help="the exports to check (default: all)"
    )
    validate.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE", help=_CONFIG_HELP)
    validate.add_argument("--sandbox", action="store_true", help=_SANDBOX_HELP)
    validate.set_defaults(handler=cmd_validate, quiet=True)

    exports = sub.add_parser(
        "exports",
        help="list the saved exports, their connection and list, and each one's last run",
        description="List the saved exports of the config file: connection, list, source "
        "and the last run recorded in each one's state.",
        allow_abbrev=False,
    )
    exports.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE", help=_CONFIG_HELP)
    exports.set_defaults(handler=cmd_exports)
