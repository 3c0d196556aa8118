"""``acexport export``: stream a file of profiles onto a list."""

from __future__ import annotations

import argparse
import contextlib
import threading

from .._exceptions import ExportError
from .._exporter._export import SegmentExporter
from .._exporter._mapping import FieldMapping
from .._exporter._report import ExportReport
from ._connection import SANDBOX_POLL_INTERVAL, connect
from ._errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_ROWS, EXIT_USAGE, UsageError
from ._output import Output
from ._progress import Progress
from ._readers import Input
from ._reports import check_report_path, print_report, write_report
from ._signals import first_ctrl_c_cancels

__all__ = ["cmd_export"]


def _mapping(args: argparse.Namespace) -> FieldMapping:
    fields: dict[int | str, str] = {}
    for key, column in args.field:
        if key in fields:
            raise UsageError(f"--field {key} is given twice")
        fields[key] = column
    return FieldMapping(
        args.email,
        first_name=args.first_name,
        last_name=args.last_name,
        phone=args.phone,
        fields=dict(fields),
        tags=args.tag,
    )


def cmd_export(args: argparse.Namespace, out: Output, err: Output) -> int:
    mapping = _mapping(args)
    if args.report is not None:
        check_report_path(args.report)
    columns = [args.email, args.first_name, args.last_name, args.phone]
    columns += [column for _, column in args.field]
    source = Input(args.profiles, args.format, [c for c in columns if c])
    with contextlib.ExitStack() as stack:
        stack.callback(source.close)
        client = stack.enter_context(connect(args, err, quiet=args.quiet))
        cancel = threading.Event()
        progress = Progress(
            err, enabled=not args.quiet, dry_run=args.dry_run, fraction=source.fraction
        )
        exporter = SegmentExporter(
            client,
            args.list_id,
            mapping,
            dry_run=args.dry_run,
            on_progress=progress,
            cancel=cancel,
            poll_interval=SANDBOX_POLL_INTERVAL if args.sandbox else 2.0,
        )
        code = EXIT_OK
        stopped: str | None = None
        report: ExportReport | None
        try:
            with first_ctrl_c_cancels(cancel, err):
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
        print_report(report, out, args.report)
        if args.report is not None:
            try:
                write_report(report, args.report)
            except OSError as exc:
                err.write(f"acexport: error: could not write --report {args.report}: {exc}\n")
                return EXIT_USAGE
            if not args.quiet:
                err.write(f"report written to {args.report}\n")
        return code
