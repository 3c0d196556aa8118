"""Exit codes, the errors a command raises to end itself, and keeping the API key out of
messages."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_ROWS",
    "EXIT_USAGE",
    "ArgumentError",
    "UsageError",
    "redact",
    "secrets_in",
]

EXIT_OK = 0
EXIT_ROWS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake the user can fix: printed as ``acexport: error: ...``, exit 2."""


class ArgumentError(Exception):
    """argparse refused the command line (raised instead of exiting, so secrets are redacted)."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


def secrets_in(argv: Sequence[str]) -> list[str]:
    """Values given to ``--api-key`` on the command line, to keep out of any message."""
    found: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--api-key" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--api-key="):
            found.append(arg[len("--api-key=") :])
    return [s for s in found if len(s) >= 4]  # a real key is long; "***" for "a" would maim


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
