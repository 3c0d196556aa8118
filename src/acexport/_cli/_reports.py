"""The export's report: the summary and first row errors printed, the whole of it as JSON."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from typing import Any

import attrs

from .._report import ExportReport
from ._errors import UsageError
from ._output import Output

__all__ = ["ReportFile", "print_report", "tidy"]

_ERRORS_SHOWN = 10
# How the exporter words a profile that raised when read; for the readers' unreadable rows
# the reason alone is the whole story.
_UNREADABLE = re.compile(r"reading .*? raised UnreadableRow: (.*)", re.DOTALL)


def tidy(report: ExportReport) -> ExportReport:
    """``report`` with the reasons of rows the reader could not read said plainly."""
    if not any(e.kind == "invalid" and "raised UnreadableRow: " in e.reason for e in report.errors):
        return report
    errors = []
    for e in report.errors:
        match = _UNREADABLE.fullmatch(e.reason) if e.kind == "invalid" else None
        errors.append(attrs.evolve(e, reason=match.group(1)) if match else e)
    return attrs.evolve(report, errors=tuple(errors))


def _report_data(report: ExportReport) -> dict[str, Any]:
    return attrs.asdict(report)


class ReportFile:
    """The ``--report`` file, reserved before anything is sent.

    The constructor refuses a path that is a folder, a special file or the input itself, and
    creates a temporary file beside it (so a folder that cannot be written to is found now,
    not after the export); :meth:`commit` writes the report there and renames it over the
    path in one step, :meth:`discard` removes it.
    """

    def __init__(self, path: str, input_path: str | None) -> None:
        self.path = path
        if os.path.isdir(path):
            raise UsageError(f"--report {path} is a directory; name a file, e.g. report.json")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UsageError(f"--report {path}: the folder {folder} does not exist")
        if os.path.exists(path):
            if input_path is not None and _same_file(path, input_path):
                raise UsageError(
                    f"--report {path} is the input file: the report would overwrite the "
                    "profiles; name another file, e.g. report.json"
                )
            if not os.path.isfile(path):
                raise UsageError(f"--report {path} is not a regular file; name a file")
        try:
            self._fd, self._tmp = tempfile.mkstemp(
                prefix=".acexport-report-", suffix=".json.tmp", dir=folder
            )
        except OSError as exc:
            raise UsageError(
                f"--report {path}: cannot create a file in {folder}: {exc.strerror or exc}"
            ) from None
        self._done = False

    def commit(self, report: ExportReport) -> None:
        """Write the report and put it in place (raises ``OSError`` if the disk refuses)."""
        if self._done:
            raise RuntimeError("the report file was already written or discarded")
        self._done = True
        try:
            with open(self._fd, "w", encoding="utf-8") as f:
                json.dump(_report_data(report), f, indent=2, ensure_ascii=False)
                f.write("\n")
            os.replace(self._tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            raise

    def discard(self) -> None:
        """Remove the reserved file (nothing when the report was written)."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            os.close(self._fd)
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def print_report(report: ExportReport, out: Output, report_path: str | None) -> None:
    out.write(report.summary() + "\n")
    if report.cancelled:
        out.write("cancelled: the rows read before the cancel are accounted for above\n")
    _print_removal_errors(report, out)
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


def _print_removal_errors(report: ExportReport, out: Output) -> None:
    """Leavers whose removal failed (``--on-leave``): they stay tracked for the next run."""
    failed = report.removal_errors
    if not failed:
        return
    out.write(f"{len(failed)} leavers not removed (tried again next run):\n")
    for e in failed[:_ERRORS_SHOWN]:
        out.write(f"  <{e.email}>: {e.reason}\n")
    if len(failed) > _ERRORS_SHOWN:
        out.write(f"  ... and {len(failed) - _ERRORS_SHOWN} more, all listed in --report\n")
