"""``acexport run NAME... | --all``: run saved exports from the config file, each like
``acexport export`` (progress, signals, summary, a JSON report per export in ``--report-dir``).

Everything that can be refused is refused before any request: the file is checked whole, the
connections' data-transfer acknowledgements and API keys are resolved for every selected
export. Then the exports run one after the other; one that cannot start (its source is
unreadable, its list is gone) is reported and the others still run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator, Sequence

from .._client import ActiveCampaign, caller_of
from .._exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConfigError,
    ExportError,
)
from .._report import ExportReport
from ._config import Config, Connection, ExportConfig, load_config
from ._connection import connect, exporter_options
from ._errors import EXIT_OK, EXIT_ROWS, EXIT_USAGE, UsageError
from ._jobs import client_for, make_exporter, not_exported, notice, open_source, within_threshold
from ._output import Output
from ._progress import Progress, estimate
from ._reports import ReportFile, print_report, tidy
from ._signals import Signals

__all__ = ["clients", "cmd_run", "load", "said", "select"]


def load(args: argparse.Namespace, err: Output) -> Config | None:
    """The config file, or None after printing every mistake in it."""
    try:
        return load_config(args.config)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            err.write(f"acexport: error: {line}\n")
        return None


def select(config: Config, names: Sequence[str], every: bool) -> list[ExportConfig]:
    """The exports named (each once, in the order given), or all of them with ``--all``."""
    if every and names:
        raise UsageError("name exports or pass --all, not both")
    if every:
        return list(config.exports.values())
    if not names:
        raise UsageError(
            f"name the exports to run (the file has {', '.join(config.exports)}) or pass --all"
        )
    unknown = [n for n in names if n not in config.exports]
    if unknown:
        raise UsageError(
            f"{config.path} has no export {', '.join(repr(n) for n in unknown)}; it has "
            f"{', '.join(config.exports)} (`acexport exports` lists them)"
        )
    return [config.exports[n] for n in dict.fromkeys(names)]


@contextlib.contextmanager
def clients(
    config: Config, exports: Sequence[ExportConfig], args: argparse.Namespace, err: Output
) -> Iterator[dict[str, ActiveCampaign]]:
    """A client per connection used (every key resolved before any is used), or the
    sandbox's client for all of them."""
    with contextlib.ExitStack() as stack:
        used = list(dict.fromkeys(e.connection for e in exports))
        if args.sandbox:
            sandbox = argparse.Namespace(
                sandbox=True, api_key=None, requests_per_second=None, bulk_imports_per_minute=None
            )
            client = stack.enter_context(connect(sandbox, err, quiet=args.quiet))
            yield dict.fromkeys(used, client)
            return
        clients = {}
        for name in used:
            clients[name] = stack.enter_context(client_for(config, config.connections[name]))
        yield clients


def _report_file(args: argparse.Namespace, export: ExportConfig) -> ReportFile | None:
    if args.report_dir is None:
        return None
    source = None if export.source.startswith("python:") else export.source
    return ReportFile(os.path.join(args.report_dir, f"{export.name}.json"), source)


def _run_one(
    config: Config,
    export: ExportConfig,
    client: ActiveCampaign,
    signals: Signals,
    args: argparse.Namespace,
    out: Output,
    err: Output,
) -> int:
    with contextlib.ExitStack() as stack:
        report_file = _report_file(args, export)
        if report_file is not None:
            stack.callback(report_file.discard)
        source = open_source(config, export)
        stack.callback(source.close)
        options = exporter_options(
            client,
            args,
            err,
            stack,
            cancel=signals.cancel,
            fraction=source.fraction,
            state=export.state,
        )
        progress: Progress = options["on_progress"]
        exporter = make_exporter(client, export, stack, **options)
        code, stopped = EXIT_OK, None
        report: ExportReport | None
        try:
            report = exporter.export(signals.watch(source.profiles))
        except ExportError as exc:
            report, code = exc.report, EXIT_ROWS
            stopped = str(exc).replace(" from the iterable", "")
        except KeyboardInterrupt:
            report, code = exporter.report, signals.exit_code
            if report is None:
                report = ExportReport(export.list_id, dry_run=args.dry_run, cancelled=True)
                stopped = "cancelled before any profile was read: no contact was sent"
            else:
                stopped = "aborted: batches in flight were not confirmed and are counted as failed"
        finally:
            progress.close()
            if signals.pending:
                err.write(signals.pending)
                signals.pending = ""
        if stopped is not None:
            err.write(f"acexport: {export.name}: {stopped}\n")
        report = tidy(report)
        print_report(report, out, report_file.path if report_file else None)
        if args.dry_run and not report.cancelled:
            bulk_per_minute = caller_of(client).limits.bulk_imports_per_minute
            out.write(estimate(report.exported, bulk_per_minute) + "\n")
        if code == EXIT_OK:
            if report.cancelled:
                code = signals.exit_code
            elif not within_threshold(export, report):
                code = EXIT_ROWS
            elif not report.ok:
                out.write(
                    f"{not_exported(report)} not exported, within max_not_exported of "
                    f"{export.name}\n"
                )
        if report_file is not None:
            try:
                report_file.commit(report)
            except OSError as exc:
                err.write(f"acexport: error: could not write {report_file.path}: {exc}\n")
                return max(code, EXIT_ROWS)
            if not args.quiet:
                err.write(f"report written to {report_file.path}\n")
        return code


def _refusals(config: Config, exports: Sequence[ExportConfig]) -> list[str]:
    """The notice for each connection used whose data transfer is not acknowledged."""
    found = []
    for name in dict.fromkeys(e.connection for e in exports):
        connection = config.connections[name]
        if not connection.data_transfer_acknowledged:
            used = [e for e in exports if e.connection == name]
            found.append(notice(config, connection, used))
    return found


def cmd_run(args: argparse.Namespace, out: Output, err: Output) -> int:
    config = load(args, err)
    if config is None:
        return EXIT_USAGE
    exports = select(config, args.names, args.all)
    if not args.sandbox:
        refusals = _refusals(config, exports)
        for text in refusals:
            err.write("acexport: " + text + "\n")
        if refusals:
            return EXIT_USAGE
    if args.report_dir is not None and not os.path.isdir(args.report_dir):
        raise UsageError(f"--report-dir {args.report_dir}: not a folder; create it first")
    codes: dict[str, int] = {}
    with Signals(err) as signals, clients(config, exports, args, err) as made:
        for export in exports:
            if signals.cancel.is_set():
                break
            if len(exports) > 1 and not args.quiet:
                err.write(f"== {export.name} ({config.where(export)}) ==\n")
            try:
                codes[export.name] = _run_one(
                    config, export, made[export.connection], signals, args, out, err
                )
            except (UsageError, ConfigError, APIError) as exc:
                connection = config.connections[export.connection]
                err.write(f"acexport: error: {export.name}: {said(exc, connection)}\n")
                codes[export.name] = EXIT_USAGE
    if signals.cancel.is_set():
        return signals.exit_code
    if len(exports) > 1:
        held = [n for n, c in codes.items() if c == EXIT_OK]
        missed = [n for n, c in codes.items() if c != EXIT_OK]
        out.write(
            f"{len(held)} of {len(exports)} exports held"
            + (f"; not: {', '.join(missed)}" if missed else "")
            + "\n"
        )
    return max(codes.values(), default=EXIT_OK)


def said(exc: BaseException, connection: Connection) -> str:
    """What went wrong, in the terms of the saved connection."""
    if isinstance(exc, AuthenticationError):
        where = (
            f"the environment variable {connection.api_key_env}"
            if connection.api_key_env is not None
            else "the output of api_key_command"
        )
        return (
            f"ActiveCampaign refused the API key (HTTP {exc.status_code} from {exc.url}): check "
            f"the key in {where} (Settings -> Developer) and that api_url is the same account's"
        )
    if isinstance(exc, APIConnectionError):
        return (
            f"could not reach ActiveCampaign at {exc.url}: {exc.message}; check api_url and the "
            "network"
        )
    return str(exc)
