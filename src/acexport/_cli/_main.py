"""``main``: parse the command line, run the command, turn errors into messages and exit
codes."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from .._config import API_KEY_ENV, API_URL_ENV
from .._exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConfigError,
    NotFoundError,
    ResponseValidationError,
)
from ._errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_ROWS,
    EXIT_USAGE,
    ArgumentError,
    UsageError,
    redact,
    secrets_in,
)
from ._output import Output
from ._parser import CONNECTION_OPTIONS, build_parser
from ._signals import Interrupted

__all__ = ["main"]


def _explain(exc: BaseException, args: argparse.Namespace) -> tuple[str, int]:
    """The message and exit code for an error that ends a command."""
    if isinstance(exc, UsageError | ConfigError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, AuthenticationError):
        return (
            f"ActiveCampaign refused the API key (HTTP {exc.status_code} from {exc.url}): "
            f"check {API_KEY_ENV} (Settings -> Developer) and that {API_URL_ENV} is the "
            "same account's URL",
            EXIT_USAGE,
        )
    if isinstance(exc, NotFoundError):
        list_id = getattr(args, "list_id", None)
        if list_id is not None and exc.url.rstrip("/").endswith(f"/lists/{list_id}"):
            return (
                f"list {list_id} does not exist in this account; `acexport lists"
                f"{' --sandbox' if args.sandbox else ''}` shows the list ids",
                EXIT_USAGE,
            )
        return (
            f"HTTP 404 from {exc.url}: is {API_URL_ENV} your account's API URL "
            "(as shown under Settings -> Developer)?",
            EXIT_USAGE,
        )
    if isinstance(exc, APIConnectionError):
        where = "--api-url" if getattr(args, "api_url", None) else API_URL_ENV
        return (
            f"could not reach ActiveCampaign at {exc.url}: {exc.message}; check {where} and "
            "the network",
            EXIT_USAGE,
        )
    if isinstance(exc, ResponseValidationError):
        return (
            f"{exc.url} did not answer like ActiveCampaign's API ({exc.message}): check "
            f"{API_URL_ENV}",
            EXIT_USAGE,
        )
    return str(exc), EXIT_ROWS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``acexport`` command line; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    secrets = secrets_in(arguments)
    out, err = Output(sys.stdout), Output(sys.stderr)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except ArgumentError as exc:
        hint = ""
        if arguments and arguments[0].partition("=")[0] in CONNECTION_OPTIONS:
            hint = " (--sandbox, --api-url and --api-key go after the command: acexport lists "
            hint += "--sandbox)"
        err.write(redact(exc.usage, secrets))
        err.write(f"acexport: error: {redact(exc.message, secrets)}{hint}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if getattr(args, "handler", None) is None:
        err.write(parser.format_help())
        return EXIT_USAGE
    # The CLI says everything the library would log at WARNING itself; keep stderr clean.
    library_logger = logging.getLogger("acexport")
    quiet_library = logging.NullHandler()
    if not library_logger.hasHandlers():
        library_logger.addHandler(quiet_library)
    try:
        code: int = args.handler(args, out, err)
    except (UsageError, ConfigError, APIError) as exc:
        message, code = _explain(exc, args)
        err.write(f"acexport: error: {redact(message, secrets)}\n")
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM during an export, before it began
        err.write("acexport: interrupted\n")
        code = exc.exit_code if isinstance(exc, Interrupted) else EXIT_INTERRUPTED
    except BrokenPipeError:  # `acexport lists | head -1`: stop quietly
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        code = EXIT_ROWS
    finally:
        library_logger.removeHandler(quiet_library)
    with contextlib.suppress(OSError, ValueError):
        out.flush()
    return code
