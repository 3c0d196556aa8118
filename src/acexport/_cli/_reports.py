"""The export's report: the summary and first row errors printed, the whole of it as JSON."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any

import attrs

from .._exporter._report import ExportReport
from ._errors import UsageError
from ._output import Output

__all__ = ["check_report_path", "print_report", "write_report"]

_ERRORS_SHOWN = 10


def _report_data(report: ExportReport) -> dict[str, Any]:
    return attrs.asdict(report)


def check_report_path(path: str) -> None:
    if os.path.isdir(path):
        raise UsageError(f"--report {path} is a directory; name a file, e.g. report.json")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"--report {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"--report {path}: not writable")


def write_report(report: ExportReport, path: str) -> None:
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


def print_report(report: ExportReport, out: Output, report_path: str | None) -> None:
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
