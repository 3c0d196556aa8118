"""The export's report: the summary (with the top reasons) and the first row errors printed,
the report as JSON (bounded as the report is: its first 10,000 errors and every count)."""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any

import attrs

from .._report import ExportReport
from ._files import Reserved
from ._output import Output

__all__ = ["ReportFile", "plain_reason", "print_report", "tidy"]

_ERRORS_SHOWN = 10
# How the exporter words a profile that raised when read; for the readers' unreadable rows
# the reason alone is the whole story.
_UNREADABLE = re.compile(r"reading .*? raised UnreadableRow: (.*)", re.DOTALL)


def tidy(report: ExportReport) -> ExportReport:
    """``report`` with the reasons of rows the reader could not read said plainly."""
    marker = "raised UnreadableRow: "
    if not any(marker in r for r in report.reasons) and not any(
        marker in e.reason for e in report.errors
    ):
        return report
    errors = tuple(attrs.evolve(e, reason=plain_reason(e.kind, e.reason)) for e in report.errors)
    reasons: dict[str, int] = {}
    for reason, count in report.reasons.items():
        plain = plain_reason("invalid", reason)
        reasons[plain] = reasons.get(plain, 0) + count
    ordered = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return attrs.evolve(report, errors=errors, reasons=ordered)


def plain_reason(kind: str, reason: str) -> str:
    """The reason of a row the reader could not read, without the exporter's wording."""
    if kind != "invalid" or "raised UnreadableRow: " not in reason:
        return reason
    match = _UNREADABLE.fullmatch(reason)
    return match.group(1) if match else reason


def _report_data(report: ExportReport) -> dict[str, Any]:
    """The report as JSON data: bounded as the report is (its first errors, every count)."""
    data = attrs.asdict(report, filter=lambda a, _: a.name != "profile")
    data["errors_truncated"] = report.errors_truncated
    return data


class ReportFile:
    """The ``--report`` file, reserved before anything is sent (see :class:`Reserved`):
    :meth:`commit` writes the report there and renames it over the path in one step,
    :meth:`discard` removes it."""

    def __init__(self, path: str, input_path: str | None) -> None:
        self.path = path
        self._file = Reserved("--report", path, input_path, "report.json", ".json")

    def commit(self, report: ExportReport) -> None:
        """Write the report and put it in place (raises ``OSError`` if the disk refuses)."""
        if self._file.done:
            raise RuntimeError("the report file was already written or discarded")
        self._file.done = True
        try:
            with open(self._file.fd, "w", encoding="utf-8") as f:
                json.dump(_report_data(report), f, indent=2, ensure_ascii=False)
                f.write("\n")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(self._file.tmp)
            raise
        self._file.put()

    def discard(self) -> None:
        """Remove the reserved file (nothing when the report was written)."""
        self._file.discard()


def print_report(
    report: ExportReport, out: Output, report_path: str | None, errors_path: str | None = None
) -> None:
    out.write(report.summary() + "\n")
    if report.cancelled:
        out.write("cancelled: the rows read before the cancel are accounted for above\n")
    _print_removal_errors(report, out)
    if not report.errors:
        return
    shown = report.errors[:_ERRORS_SHOWN]
    total = len(report.errors) + report.errors_omitted
    head = f"{total} rows not exported" if total > 1 else "1 row not exported"
    first = f", the first {len(shown)}" if total > len(shown) else ""
    out.write(f"{head}{first} (rows counted from 0, as in --report):\n")
    for e in shown:
        email = "(no email)" if not e.email else f"<{e.email}>"
        out.write(f"  row {e.index} {email}: {e.kind}: {e.reason}\n")
    if total <= len(shown):
        return
    more = total - len(shown)
    if errors_path is not None:
        out.write(f"  ... and {more} more, every one of them in {errors_path}\n")
    elif not report.errors_truncated:
        where = report_path or "a file given with --report FILE.json"
        out.write(f"  ... and {more} more, all listed in {where}\n")
    else:
        where = f"{report_path} lists" if report_path else "--report FILE.json lists"
        out.write(
            f"  ... and {more} more: {where} the first {len(report.errors)}; "
            "--errors FILE.csv writes every row not exported\n"
        )


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
