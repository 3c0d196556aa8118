"""``acexport export``: stream a file of profiles onto a list."""

from __future__ import annotations

import argparse
import contextlib

from .._client import caller_of
from .._exceptions import ExportError
from .._exporter._export import SegmentExporter
from .._exporter._mapping import FieldMapping
from .._report import ExportReport
from ._connection import connect, exporter_options
from ._error_rows import ErrorRows
from ._errors import EXIT_OK, EXIT_ROWS, UsageError
from ._files import same_file
from ._output import Output
from ._progress import Progress, estimate
from ._readers import Input
from ._reports import ReportFile, print_report, tidy
from ._signals import Signals

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
        key=args.key,
    )


def cmd_export(args: argparse.Namespace, out: Output, err: Output) -> int:
    mapping = _mapping(args)
    if args.full_refresh and args.state is None:
        raise UsageError("--full-refresh goes with --state")
    if args.on_leave is not None and args.state is None:
        raise UsageError("--on-leave needs --state: leavers are the contacts it recorded")
    if args.on_leave == "untag" and not args.tag:
        raise UsageError("--on-leave untag removes the --tag tags: give at least one --tag")
    columns = [args.email, args.first_name, args.last_name, args.phone, args.key]
    columns += [column for _, column in args.field]
    with contextlib.ExitStack() as stack:
        # Everything that can be refused is refused before anything is sent: the report file
        # is created now (beside its path), the input opened and its columns checked.
        signals = stack.enter_context(Signals(err))
        input_path = None if args.profiles == "-" else args.profiles
        report_file: ReportFile | None = None
        if args.report is not None:
            report_file = ReportFile(args.report, input_path)
            stack.callback(report_file.discard)
        error_rows: ErrorRows | None = None
        if args.errors is not None:
            if args.report is not None and same_file(args.errors, args.report):
                raise UsageError(f"--errors {args.errors} is also the --report file")
            error_rows = ErrorRows(args.errors, input_path)
            stack.callback(error_rows.discard)
        mapped = [c for c in columns if c]
        source = Input(
            args.profiles,
            args.format,
            mapped,
            encoding=args.encoding,
            delimiter=args.delimiter,
            numbered=error_rows is not None,
        )
        stack.callback(source.close)
        if error_rows is not None:
            error_rows.open(source.header or mapped)
        client = stack.enter_context(connect(args, err, quiet=args.quiet))
        options = exporter_options(
            client,
            args,
            err,
            stack,
            cancel=signals.cancel,
            fraction=source.fraction,
            state=args.state,
        )
        options.setdefault("state", args.state)
        progress: Progress = options["on_progress"]
        exporter = SegmentExporter(
            client,
            args.list_id,
            mapping,
            exclude_automations=args.exclude_automations,
            full_refresh=args.full_refresh,
            on_leave=args.on_leave,
            max_leave=args.max_leave,
            on_error=error_rows.write if error_rows is not None else None,
            **options,
        )
        code = EXIT_OK
        stopped: str | None = None
        report: ExportReport | None
        try:
            report = exporter.export(signals.watch(source.profiles))
        except ExportError as exc:
            report, code = exc.report, EXIT_ROWS
            # "on_error raised OSError: could not write --errors ...": the file is the news.
            stopped = (
                str(exc).replace(" from the iterable", "").replace("on_error raised OSError: ", "")
            )
            if not stopped.startswith("export stopped early"):
                stopped = "export stopped early: " + stopped
        except KeyboardInterrupt:
            report, code = exporter.report, signals.exit_code
            if report is None:  # stopped while checking the key, list and fields
                report = ExportReport(args.list_id, dry_run=args.dry_run, cancelled=True)
                stopped = "cancelled before any profile was read: no contact was sent"
            else:
                stopped = "aborted: batches in flight were not confirmed and are counted as failed"
        finally:
            progress.close()
            if signals.pending:
                err.write(signals.pending)
        if stopped is not None:
            err.write(f"acexport: {stopped}\n")
        report = tidy(report)
        if code == EXIT_OK:
            ok = report.ok and not report.removal_errors
            code = signals.exit_code if report.cancelled else EXIT_OK if ok else EXIT_ROWS
        print_report(report, out, args.report, args.errors)
        if args.dry_run and not report.cancelled:
            bulk_per_minute = caller_of(client).limits.bulk_imports_per_minute
            out.write(estimate(report.exported, bulk_per_minute) + "\n")
        if error_rows is not None:
            try:
                error_rows.commit()
            except OSError as exc:
                err.write(f"acexport: error: could not write --errors {args.errors}: {exc}\n")
                code = max(code, EXIT_ROWS)
            else:
                if not args.quiet:
                    rows = "1 row" if error_rows.rows == 1 else f"{error_rows.rows} rows"
                    err.write(f"{rows} not exported written to {args.errors}\n")
        if report_file is not None:
            try:
                report_file.commit(report)
            except OSError as exc:
                # The export ran: its outcome is on standard output; exit 2 means "nothing sent".
                err.write(f"acexport: error: could not write --report {args.report}: {exc}\n")
                return max(code, EXIT_ROWS)
            if not args.quiet:
                err.write(f"report written to {args.report}\n")
        return code
