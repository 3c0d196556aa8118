"""The client a command runs on: the account's, or the sandbox's (a built-in fake served on
loopback)."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._client import ActiveCampaign, caller_of
from .._config import API_KEY_ENV, API_URL_ENV
from ._errors import UsageError
from ._output import Output
from ._progress import Progress

if TYPE_CHECKING:
    from ..testing import FakeActiveCampaign

__all__ = [
    "SANDBOX_POLL_INTERVAL",
    "connect",
    "exporter_options",
    "rate",
    "sandbox_account",
    "sandbox_state",
]

# The sandbox: a fake account served on loopback, with limits scaled up so a sample finishes in
# about a second, and the client kept under them (it never sees a 429).
_SANDBOX_KEY = "sandbox-key"
_SANDBOX_FAKE_RPS = 100.0
_SANDBOX_FAKE_BULK = 2000.0
_SANDBOX_RPS = 50.0
_SANDBOX_BULK = 1000.0
_SANDBOX_IMPORT_DELAY = 0.2
SANDBOX_POLL_INTERVAL = 0.25
_DEFAULT_RPS = 5.0  # the client's defaults, ActiveCampaign's documented limits
_DEFAULT_BULK = 100.0


def sandbox_account() -> FakeActiveCampaign:
    from ..testing import FakeActiveCampaign  # imported here: only the sandbox needs it

    fake = FakeActiveCampaign(
        api_key=_SANDBOX_KEY,
        requests_per_second=_SANDBOX_FAKE_RPS,
        bulk_imports_per_minute=_SANDBOX_FAKE_BULK,
        import_delay=_SANDBOX_IMPORT_DELAY,
        lean=True,
    )
    fake.add_list("Sandbox list", id=1)
    fake.add_field("Tier", perstag="TIER")
    fake.add_field("Birthday", perstag="BIRTHDAY", type="date")
    fake.add_field("Company", perstag="COMPANY")
    return fake


def sandbox_state(
    state: str | None, stack: contextlib.ExitStack, err: Output, *, quiet: bool
) -> str | None:
    """Where a sandbox run keeps the state it was given: a file in a temporary folder, gone
    with ``stack``. Never the real state: a sandbox account is a new account on every run,
    and its contacts do not belong beside an account's (or in a file of personal data)."""
    if state is None:
        return None
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="acexport-sandbox-"))
    if not quiet:
        err.write(
            "sandbox: the state is kept in a temporary file for this run, not in the one given "
            "(a sandbox account is a new account every time)\n"
        )
    return os.path.join(folder, "state.sqlite")


def exporter_options(
    client: ActiveCampaign,
    args: argparse.Namespace,
    err: Output,
    stack: contextlib.ExitStack,
    *,
    cancel: Any,
    fraction: Callable[[], float | None],
    state: str | None,
) -> dict[str, Any]:
    """What ``export`` and ``run`` give the exporter beyond the export itself: the dry run, the
    progress bar (paced to the client's bulk limit), the cancel event, the poll interval, and
    with ``--sandbox`` a temporary ``state`` in place of ``state`` (see :func:`sandbox_state`;
    without it, the command passes its own state)."""
    options: dict[str, Any] = {
        "dry_run": args.dry_run,
        "on_progress": Progress(
            err,
            enabled=not args.quiet,
            dry_run=args.dry_run,
            fraction=fraction,
            bulk_per_minute=caller_of(client).limits.bulk_imports_per_minute,
            stopped=cancel.is_set,
        ),
        "cancel": cancel,
        "poll_interval": SANDBOX_POLL_INTERVAL if args.sandbox else 2.0,
    }
    if args.sandbox:
        options["state"] = sandbox_state(state, stack, err, quiet=args.quiet)
    return options


@contextlib.contextmanager
def connect(args: argparse.Namespace, err: Output, *, quiet: bool) -> Iterator[ActiveCampaign]:
    """The client for this run: on the sandbox's loopback server, or on the real account."""
    if args.api_key is not None:
        err.write(
            "acexport: warning: --api-key puts the key in your shell history and the process "
            f"list; prefer setting {API_KEY_ENV}"
            + (" (with --sandbox it is ignored)" if args.sandbox else "")
            + "\n"
        )
    if args.sandbox:
        with (
            sandbox_account().serve() as server,
            ActiveCampaign(
                server.url,
                _SANDBOX_KEY,
                requests_per_second=_limit(args, "requests_per_second", _SANDBOX_RPS),
                bulk_imports_per_minute=_limit(args, "bulk_imports_per_minute", _SANDBOX_BULK),
            ) as client,
        ):
            if not quiet:
                err.write(
                    f"sandbox: a built-in fake ActiveCampaign is serving on {server.url}; "
                    "nothing leaves this machine and the fake account is gone when the "
                    "command ends\n"
                )
            yield client
        return
    url = args.api_url if args.api_url is not None else os.environ.get(API_URL_ENV, "")
    key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV, "")
    missing = [
        name for name, value in ((API_URL_ENV, url), (API_KEY_ENV, key)) if not value.strip()
    ]
    if missing:
        raise UsageError(
            f"no ActiveCampaign credentials: {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set. Set {API_URL_ENV} (e.g. "
            f"https://youraccount.api-us1.com) and {API_KEY_ENV}, both shown under "
            "Settings -> Developer in ActiveCampaign; or try --sandbox"
        )
    with ActiveCampaign(
        url,
        key,
        requests_per_second=_limit(args, "requests_per_second", _DEFAULT_RPS),
        bulk_imports_per_minute=_limit(args, "bulk_imports_per_minute", _DEFAULT_BULK),
    ) as client:
        yield client


def _limit(args: argparse.Namespace, name: str, default: float) -> float:
    value = getattr(args, name, None)
    return default if value is None else float(value)


def rate(value: float | None, unit: str) -> str:
    return f"no {unit} limit" if value is None else f"{value:g} {unit}"
