"""A saved connection's API key: from an environment variable, or the output of a command (a
password manager, a secrets CLI), run without a shell and with a timeout. No message here
ever holds the key, nor anything the command printed on standard output."""

from __future__ import annotations

import os
import shlex
import subprocess

from .._exceptions import ConfigError
from ._config import Config, Connection

__all__ = ["COMMAND_TIMEOUT", "api_key"]

COMMAND_TIMEOUT = 30.0
_STDERR_SHOWN = 200


def _from_command(config: Config, connection: Connection, timeout: float) -> str:
    command = connection.api_key_command
    assert command is not None
    where = f"{config.path}: connections.{connection.name}.api_key_command"
    try:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
    except ValueError as exc:
        raise ConfigError(f"{where}: cannot split the command line: {exc}") from None
    if not argv:
        raise ConfigError(f"{where}: the command is empty")
    try:
        done = subprocess.run(  # noqa: S603 - the user's own command, no shell
            argv,
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: {argv[0]!r} was not found (is it installed and on PATH?)"
        ) from None
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"{where}: {argv[0]!r} did not finish within {timeout:g}s (does it wait for a "
            "password? unlock the password store first)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot run {argv[0]!r}: {exc.strerror or exc}") from None
    key = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        last = said[-1][:_STDERR_SHOWN] if said else ""
        for secret in (key, *key.split()):
            if len(secret) >= 4:
                last = last.replace(secret, "***")
        detail = f": {last}" if last else ""
        raise ConfigError(f"{where}: {argv[0]!r} failed with exit code {done.returncode}{detail}")
    if not key:
        raise ConfigError(f"{where}: {argv[0]!r} printed nothing; it must print the API key")
    if len(key.splitlines()) > 1:
        # `pass show` prints the password first, then notes: the first line is the key.
        key = key.splitlines()[0].strip()
    return key


def api_key(config: Config, connection: Connection, *, timeout: float = COMMAND_TIMEOUT) -> str:
    """The connection's API key, or a ConfigError that says where to put it."""
    if connection.api_key_command is not None:
        return _from_command(config, connection, timeout)
    name = connection.api_key_env
    assert name is not None
    key = os.environ.get(name, "").strip()
    if not key:
        raise ConfigError(
            f"{config.path}: connections.{connection.name}.api_key_env: the environment "
            f"variable {name} is not set; export the API key there (Settings -> Developer in "
            "ActiveCampaign) before running acexport"
        )
    return key
