"""The ``acexport`` command line (also ``python -m acexport``).

Subcommands:

- ``export PROFILES --list-id N --email COLUMN ...``: stream a CSV, JSON Lines or JSON-array
  file (or standard input) onto a list, with progress on stderr, a summary on stdout and,
  with ``--report FILE.json``, the whole report as JSON;
- ``lists``, ``fields``, ``check``: what a mapping needs (list ids, custom fields) and a
  credentials check.

Every subcommand takes ``--sandbox``: the same job against the built-in fake ActiveCampaign
(:mod:`acexport.testing`) served on loopback, with no account and no credentials.

Exit codes: 0 every row exported (or skipped as a duplicate); 1 some rows invalid, rejected or
failed, or the export stopped early; 2 a usage or configuration error (the message says what to
fix); 130 interrupted with Ctrl-C. The API key is never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import logging
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO

import attrs

from ._client import ActiveCampaign, caller_of
from ._config import API_KEY_ENV, API_URL_ENV
from ._exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConfigError,
    ExportError,
    NotFoundError,
    ResponseValidationError,
)
from ._exporter._export import SegmentExporter
from ._exporter._mapping import FieldMapping
from ._report import ExportProgress, ExportReport
from ._version import __version__

if TYPE_CHECKING:
    from .testing import FakeActiveCampaign

__all__ = ["main"]

EXIT_OK = 0
EXIT_ROWS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

FORMATS = ("csv", "jsonl", "json")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_ERRORS_SHOWN = 10
_CONNECTION_OPTIONS = ("--sandbox", "--api-url", "--api-key")
_CHUNK = 64 * 1024

# The sandbox: a fake account served on loopback, with limits scaled up so a sample finishes in
# about a second, and the client kept under them (it never sees a 429).
_SANDBOX_KEY = "sandbox-key"
_SANDBOX_FAKE_RPS = 100.0
_SANDBOX_FAKE_BULK = 2000.0
_SANDBOX_RPS = 50.0
_SANDBOX_BULK = 1000.0
_SANDBOX_IMPORT_DELAY = 0.2
_SANDBOX_POLL_INTERVAL = 0.25

_EPILOG = """\
Credentials come from ACTIVECAMPAIGN_API_URL and ACTIVECAMPAIGN_API_KEY (Settings -> Developer
in ActiveCampaign). --sandbox runs any subcommand against a built-in fake account instead.

Try it with no account:
  acexport export examples/sample_segment.csv --sandbox --list-id 1 --email Email \\
      --first-name FirstName --last-name LastName --phone Phone \\
      --field TIER=Tier --field BIRTHDAY=Birthday --tag sample

Exit codes: 0 all rows exported or skipped as duplicates; 1 some rows invalid, rejected or
failed (or the export stopped early); 2 usage or configuration error; 130 interrupted.
"""


# --- errors ---------------------------------------------------------------------------------


class _UsageError(Exception):
    """A mistake the user can fix: printed as ``acexport: error: ...``, exit 2."""


class _ArgumentError(Exception):
    """argparse refused the command line (raised instead of exiting, so secrets are redacted)."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(message, self.format_usage())


def _secrets_in(argv: Sequence[str]) -> list[str]:
    """Values given to ``--api-key`` on the command line, to keep out of any message."""
    found: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--api-key" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--api-key="):
            found.append(arg[len("--api-key=") :])
    return [s for s in found if len(s) >= 4]  # a real key is long; "***" for "a" would maim


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# --- the command line -----------------------------------------------------------------------


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
    return parent


def _build_parser() -> argparse.ArgumentParser:
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
        help="a .csv, .jsonl/.ndjson or .json (array) file, or - for standard input",
    )
    export.add_argument(
        "--format",
        choices=FORMATS,
        help="the input format (default: from the file's extension; csv for standard input)",
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
    run = export.add_argument_group("run")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="check credentials, list, fields and every row, but send no contact",
    )
    run.add_argument(
        "--report", metavar="FILE.json", help="also write the full report, every error included"
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress or notes on stderr (errors still show; the summary goes to stdout)",
    )
    export.set_defaults(handler=_cmd_export)

    for name, handler, text in (
        ("lists", _cmd_lists, "list the account's lists (ids and names)"),
        ("fields", _cmd_fields, "list the custom contact fields (ids, perstags, titles, types)"),
        ("check", _cmd_check, "check the credentials and show the client's rate limits"),
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


# --- connecting -----------------------------------------------------------------------------


def _sandbox_account() -> FakeActiveCampaign:
    from .testing import FakeActiveCampaign  # imported here: only the sandbox needs it

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


@contextlib.contextmanager
def _connect(args: argparse.Namespace, err: TextIO, *, quiet: bool) -> Iterator[ActiveCampaign]:
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
            _sandbox_account().serve() as server,
            ActiveCampaign(
                server.url,
                _SANDBOX_KEY,
                requests_per_second=_SANDBOX_RPS,
                bulk_imports_per_minute=_SANDBOX_BULK,
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
        raise _UsageError(
            f"no ActiveCampaign credentials: {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set. Set {API_URL_ENV} (e.g. "
            f"https://youraccount.api-us1.com) and {API_KEY_ENV}, both shown under "
            "Settings -> Developer in ActiveCampaign; or try --sandbox"
        )
    with ActiveCampaign(url, key) as client:
        yield client


def _rate(value: float | None, unit: str) -> str:
    return f"no {unit} limit" if value is None else f"{value:g} {unit}"


# --- reading profiles -----------------------------------------------------------------------


class _BadProfile(Mapping[str, Any]):
    """A profile that could not be read (a line that is not JSON): any read of it raises, so
    the exporter refuses the row with this reason instead of stopping."""

    __slots__ = ("_reason",)

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def __getitem__(self, key: str) -> Any:
        raise ValueError(self._reason)

    def get(self, key: str, default: Any = None) -> Any:
        raise ValueError(self._reason)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"<unreadable profile: {self._reason}>"


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _JsonArray:
    """Streams the elements of one top-level JSON array, one at a time, in bounded memory.

    The constructor reads up to the opening ``[`` (a file that is not an array is a usage
    error); iterating decodes each element with :meth:`json.JSONDecoder.raw_decode` over a
    buffer refilled in chunks. An element that is not an object becomes a :class:`_BadProfile`;
    broken JSON between elements raises ``ValueError`` (the export stops there).
    """

    def __init__(self, text: TextIO, name: str) -> None:
        self._text = text
        self._name = name
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._base = 0  # characters dropped from the front of the buffer
        self._eof = False
        first = self._peek()
        if first != "[":
            found = "nothing (the file is empty)" if not first else repr(first)
            hint = " (for one object per line use .jsonl or --format jsonl)" if first == "{" else ""
            raise _UsageError(
                f"{name} is not a JSON array of objects: expected '[' first, found {found}{hint}"
            )
        self._pos += 1

    def _more(self, size: int = _CHUNK) -> bool:
        try:
            data = self._text.read(size)
        except UnicodeDecodeError:
            raise _not_utf8(self._name) from None
        if not data:
            self._eof = True
            return False
        self._base += self._pos
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        return True

    def _peek(self) -> str:
        """The next non-whitespace character ("" at the end of the input)."""
        while True:
            match = _WHITESPACE.match(self._buf, self._pos)
            self._pos = match.end() if match else self._pos
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _broken(self, what: str) -> ValueError:
        return ValueError(f"{self._name}: {what} at character {self._base + self._pos}")

    def _value(self) -> object:
        size = _CHUNK
        while True:
            if not self._peek():
                raise self._broken("the array is not closed (no ']')")
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # Cut off by the end of the buffer (or inside a long string): read more, in
                # growing chunks so that a huge element does not make this quadratic.
                cut = exc.pos >= len(self._buf) - 16 or exc.msg.startswith("Unterminated")
                if cut and self._more(size):
                    size *= 2
                    continue
                raise ValueError(
                    f"{self._name}: invalid JSON at character {self._base + exc.pos}: {exc.msg}"
                ) from None
            if end == len(self._buf) and self._more(size):
                size *= 2
                continue  # a number may go on in the next chunk
            self._pos = end
            return value

    def __iter__(self) -> Iterator[object]:
        if self._peek() == "]":
            return
        index = 0
        while True:
            value = self._value()
            if isinstance(value, dict):
                yield value
            else:
                yield _BadProfile(f"element {index} is {_json_kind(value)}, not a JSON object")
            index += 1
            after = self._peek()
            if after == ",":
                self._pos += 1
            elif after == "]":
                return
            else:
                raise self._broken(
                    "the array is not closed (no ']')"
                    if not after
                    else f"expected ',' or ']' after element {index - 1}, found {after!r}"
                )


def _not_utf8(name: str) -> ValueError:
    return ValueError(f'{name} is not UTF-8 text: save it as UTF-8 ("CSV UTF-8" in Excel)')


def _jsonl(text: TextIO, name: str) -> Iterator[object]:
    try:
        yield from _jsonl_lines(text)
    except UnicodeDecodeError:
        raise _not_utf8(name) from None


def _jsonl_lines(text: TextIO) -> Iterator[object]:
    for number, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            yield _BadProfile(f"line {number} is not valid JSON")
            continue
        if isinstance(value, dict):
            yield value
        else:
            yield _BadProfile(f"line {number} is {_json_kind(value)}, not a JSON object")


def _csv_rows(reader: csv.DictReader[str], name: str) -> Iterator[object]:
    try:
        yield from reader
    except csv.Error as exc:
        raise ValueError(f"{name}, line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError:
        raise _not_utf8(name) from None


class _Input:
    """The open profiles file (or standard input) and the profiles streamed from it."""

    def __init__(self, path: str, fmt: str | None, columns: Sequence[str]) -> None:
        self._binary: IO[bytes] | None = None
        self._size: int | None = None
        self._wrapper: io.TextIOWrapper | None = None  # over stdin's buffer, detached at the end
        self._text: TextIO
        if path == "-":
            self.name = "standard input"
            fmt = fmt or "csv"
            stdin = sys.stdin
            buffer = getattr(stdin, "buffer", None)
            if buffer is not None:
                self._wrapper = io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")
                self._text = self._wrapper
            else:  # already a text stream (an io.StringIO, say)
                self._text = stdin
        else:
            self.name = path
            if fmt is None:
                fmt = _EXTENSIONS.get(os.path.splitext(path)[1].lower())
                if fmt is None:
                    raise _UsageError(
                        f"cannot tell the format of {path} from its extension: name it .csv, "
                        ".jsonl, .ndjson or .json, or pass --format csv|jsonl|json"
                    )
            try:
                binary = open(path, "rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise _UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
            self._binary = binary
            try:
                info = os.fstat(binary.fileno())
            except OSError:
                info = None
            if info is not None and stat.S_ISREG(info.st_mode):
                self._size = info.st_size
            self._text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        self.format = fmt
        try:
            self.profiles = self._open(fmt, columns)
        except BaseException:
            self.close()
            raise

    def _open(self, fmt: str, columns: Sequence[str]) -> Iterator[object]:
        try:
            if fmt == "jsonl":
                return _jsonl(self._text, self.name)
            if fmt == "json":
                return iter(_JsonArray(self._text, self.name))
            reader = csv.DictReader(self._text)
            header = reader.fieldnames
        except UnicodeDecodeError:
            raise _UsageError(str(_not_utf8(self.name))) from None
        except (OSError, ValueError, csv.Error) as exc:
            raise _UsageError(f"cannot read {self.name}: {exc}") from None
        if not header:
            raise _UsageError(f"{self.name} is empty: a CSV needs a header row naming the columns")
        absent = [c for c in dict.fromkeys(columns) if c not in header]
        if absent:
            shown = ", ".join(repr(h) for h in header[:30])
            more = f" and {len(header) - 30} more" if len(header) > 30 else ""
            raise _UsageError(
                f"{self.name} has no column {', '.join(repr(c) for c in absent)}; "
                f"its columns are {shown}{more}"
            )
        return _csv_rows(reader, self.name)

    def fraction(self) -> float | None:
        """How much of the file was read, from 0 to 1 (None for standard input)."""
        if self._binary is None or not self._size:
            return None
        try:
            return min(1.0, self._binary.tell() / self._size)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self._wrapper is not None:
            with contextlib.suppress(ValueError, OSError):
                self._wrapper.detach()  # leaves standard input open
            self._wrapper = None
        elif self._binary is not None:
            self._text.close()


# --- progress and Ctrl-C --------------------------------------------------------------------


def _counts(p: ExportProgress, dry_run: bool) -> str:
    return (
        f"{p.received:,} read, {p.exported:,} {'to export' if dry_run else 'exported'}, "
        f"{p.duplicates:,} duplicates, {p.invalid:,} invalid, {p.rejected:,} rejected, "
        f"{p.failed:,} failed, {p.in_flight:,} in flight, {p.elapsed:.1f}s"
    )


def _short_counts(p: ExportProgress, dry_run: bool) -> str:
    """The counts for a terminal line: zero error counts left out."""
    parts = [f"{p.received:,} read", f"{p.exported:,} {'to export' if dry_run else 'exported'}"]
    parts += [
        f"{count:,} {name}"
        for count, name in (
            (p.duplicates, "dup"),
            (p.invalid, "invalid"),
            (p.rejected, "rejected"),
            (p.failed, "failed"),
            (p.in_flight, "pending"),
        )
        if count
    ]
    return ", ".join(parts) + f", {p.elapsed:.0f}s"


class _Progress:
    """``on_progress``: a bar redrawn in place on a terminal, else a line at most every second."""

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        dry_run: bool,
        fraction: Callable[[], float | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._dry_run = dry_run
        self._fraction = fraction
        self._clock = clock
        try:
            self.tty = enabled and stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self._interval = 0.1 if self.tty else 1.0
        self._last: float | None = None
        self._latest: ExportProgress | None = None
        self._open_line = False

    def __call__(self, progress: ExportProgress) -> None:
        self._latest = progress
        if not self._enabled:
            return
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        self._draw(progress)

    def _draw(self, progress: ExportProgress) -> None:
        if self.tty:
            fraction = self._fraction()
            bar = ""
            if fraction is not None:
                filled = int(fraction * 10)
                bar = f"{fraction:4.0%} [{'#' * filled}{'-' * (10 - filled)}] "
            width = max(20, shutil.get_terminal_size().columns - 1)
            line = bar + _short_counts(progress, self._dry_run)
            self._stream.write("\r" + line[:width] + "\x1b[K")
            self._open_line = True
        else:
            self._stream.write(f"progress: {_counts(progress, self._dry_run)}\n")
        self._stream.flush()

    def close(self) -> None:
        """Draw the final counts on a terminal and end the bar's line."""
        if self.tty and self._latest is not None:
            self._draw(self._latest)
        if self._open_line:
            self._stream.write("\n")
            self._stream.flush()
            self._open_line = False


@contextlib.contextmanager
def _first_ctrl_c_cancels(cancel: threading.Event, err: TextIO) -> Iterator[None]:
    """First Ctrl-C sets ``cancel`` (in-flight batches settle); the second aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        note = (
            "\nacexport: cancelling: no more rows are read or sent; waiting for the batches in "
            "flight to settle (Ctrl-C again to abort without waiting)\n"
        )
        # A plain write to the text stream could re-enter a write this signal interrupted.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.write(err.fileno(), note.encode())

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --- reports --------------------------------------------------------------------------------


def _report_data(report: ExportReport) -> dict[str, Any]:
    return attrs.asdict(report)


def _check_report_path(path: str) -> None:
    if os.path.isdir(path):
        raise _UsageError(f"--report {path} is a directory; name a file, e.g. report.json")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise _UsageError(f"--report {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise _UsageError(f"--report {path}: not writable")


def _write_report(report: ExportReport, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".acexport-report-", suffix=".json", dir=folder)
    try:
        with open(fd, "w", encoding="utf-8") as f:
            json.dump(_report_data(report), f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _print_report(report: ExportReport, out: TextIO, report_path: str | None) -> None:
    out.write(report.summary() + "\n")
    if report.cancelled:
        out.write("cancelled: the rows read before the cancel are accounted for above\n")
    if not report.errors:
        return
    shown = report.errors[:_ERRORS_SHOWN]
    total = len(report.errors)
    head = f"{total} rows not exported" if total > 1 else "1 row not exported"
    first = f", the first {len(shown)}" if total > len(shown) else ""
    out.write(f"{head}{first} (rows counted from 0, as in --report):\n")
    for e in shown:
        email = "(no email)" if not e.email else f"<{e.email}>"
        out.write(f"  row {e.index} {email}: {e.kind}: {e.reason}\n")
    if total > len(shown):
        where = report_path or "a file given with --report FILE.json"
        out.write(f"  ... and {total - len(shown)} more, all listed in {where}\n")


# --- subcommands ----------------------------------------------------------------------------


def _mapping(args: argparse.Namespace) -> FieldMapping:
    fields: dict[int | str, str] = {}
    for key, column in args.field:
        if key in fields:
            raise _UsageError(f"--field {key} is given twice")
        fields[key] = column
    return FieldMapping(
        args.email,
        first_name=args.first_name,
        last_name=args.last_name,
        phone=args.phone,
        fields=dict(fields),
        tags=args.tag,
    )


def _cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    mapping = _mapping(args)
    if args.report is not None:
        _check_report_path(args.report)
    columns = [args.email, args.first_name, args.last_name, args.phone]
    columns += [column for _, column in args.field]
    source = _Input(args.profiles, args.format, [c for c in columns if c])
    with contextlib.ExitStack() as stack:
        stack.callback(source.close)
        client = stack.enter_context(_connect(args, err, quiet=args.quiet))
        cancel = threading.Event()
        progress = _Progress(
            err, enabled=not args.quiet, dry_run=args.dry_run, fraction=source.fraction
        )
        exporter = SegmentExporter(
            client,
            args.list_id,
            mapping,
            dry_run=args.dry_run,
            on_progress=progress,
            cancel=cancel,
            poll_interval=_SANDBOX_POLL_INTERVAL if args.sandbox else 2.0,
        )
        code = EXIT_OK
        stopped: str | None = None
        report: ExportReport | None
        try:
            with _first_ctrl_c_cancels(cancel, err):
                report = exporter.export(source.profiles)
        except ExportError as exc:
            report, code = exc.report, EXIT_ROWS
            stopped = str(exc).replace(" from the iterable", "")
            if not stopped.startswith("export stopped early"):
                stopped = "export stopped early: " + stopped
        except KeyboardInterrupt:
            report, code = exporter.report, EXIT_INTERRUPTED
            stopped = "aborted: batches in flight were not confirmed and are counted as failed"
        finally:
            progress.close()
        if stopped is not None:
            err.write(f"acexport: {stopped}\n")
        if report is None:
            return code
        if code == EXIT_OK:
            code = EXIT_INTERRUPTED if report.cancelled else EXIT_OK if report.ok else EXIT_ROWS
        _print_report(report, out, args.report)
        if args.report is not None:
            try:
                _write_report(report, args.report)
            except OSError as exc:
                err.write(f"acexport: error: could not write --report {args.report}: {exc}\n")
                return EXIT_USAGE
            if not args.quiet:
                err.write(f"report written to {args.report}\n")
        return code


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


def _cmd_lists(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _connect(args, err, quiet=False) as client:
        lists = list(client.lists.list())
    if not lists:
        err.write("the account has no lists yet: create one in ActiveCampaign first\n")
        return EXIT_OK
    _table([("ID", "NAME"), *((str(item.id), item.name) for item in lists)], out)
    return EXIT_OK


def _cmd_fields(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _connect(args, err, quiet=False) as client:
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
    err.write("map one with: acexport export ... --field PERSTAG=COLUMN (or ID=COLUMN)\n")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _connect(args, err, quiet=False) as client:
        user = client.users.me()
        config = caller_of(client).limits
        out.write(
            f"OK: {client.api_url} as {user.email or user.username} "
            f"({_rate(config.requests_per_second, 'requests/s')}, "
            f"{_rate(config.bulk_imports_per_minute, 'bulk imports/min')})\n"
        )
    return EXIT_OK


# --- main -----------------------------------------------------------------------------------


def _explain(exc: BaseException, args: argparse.Namespace) -> tuple[str, int]:
    """The message and exit code for an error that ends a command."""
    if isinstance(exc, _UsageError | ConfigError):
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
        return (
            f"could not reach ActiveCampaign ({exc}): check {API_URL_ENV} and the network",
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
    secrets = _secrets_in(arguments)
    out, err = sys.stdout, sys.stderr
    parser = _build_parser()
    try:
        args = parser.parse_args(arguments)
    except _ArgumentError as exc:
        hint = ""
        if arguments and arguments[0].partition("=")[0] in _CONNECTION_OPTIONS:
            hint = " (--sandbox, --api-url and --api-key go after the command: acexport lists "
            hint += "--sandbox)"
        err.write(_redact(exc.usage, secrets))
        err.write(f"acexport: error: {_redact(exc.message, secrets)}{hint}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if getattr(args, "handler", None) is None:
        parser.print_help(err)
        return EXIT_USAGE
    # The CLI says everything the library would log at WARNING itself; keep stderr clean.
    library_logger = logging.getLogger("acexport")
    quiet_library = logging.NullHandler()
    if not library_logger.hasHandlers():
        library_logger.addHandler(quiet_library)
    try:
        code: int = args.handler(args, out, err)
    except (_UsageError, ConfigError, APIError) as exc:
        message, code = _explain(exc, args)
        err.write(f"acexport: error: {_redact(message, secrets)}\n")
    except KeyboardInterrupt:
        err.write("acexport: interrupted\n")
        code = EXIT_INTERRUPTED
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
