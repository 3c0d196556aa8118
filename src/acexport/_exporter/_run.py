"""The state of one export that both front ends share: options, counts, the report.

Everything here is pure. :class:`ExportOptions` validates the exporter's keyword options once;
:class:`ExportRun` holds one export's planner, scheduler and counters and turns them into an
:class:`ExportReport` at any moment (so a partial report always adds up).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, Protocol

import attrs

from .._core._limits import BULK_MAX_BYTES, BULK_MAX_CONTACTS, SMALL_EXPORT
from .._exceptions import ConfigError, ExportError
from .._models import ContactList, CustomField
from .._report import ExportProgress, ExportReport, RemovalError, RowError, RowErrors
from ._delta import Delta, Effect
from ._mapping import FieldMapping, resolve_fields
from ._membership import DEFAULT_MAX_LEAVE, OnLeave
from ._pipeline import Batch, PlannedContact, Planner
from ._schedule import CannotContinue, Input, Phase, Poll, Scheduler, Stop, Submit, Tally, Wait

__all__ = [
    "CancelToken",
    "Ending",
    "ExportOptions",
    "ExportRun",
    "check_list",
    "poll_rate",
    "small_export",
]

logger = logging.getLogger("acexport")


class CancelToken(Protocol):
    """Anything with ``is_set()``: ``threading.Event``, ``asyncio.Event``, ``anyio.Event``."""

    def is_set(self) -> bool: ...


def _positive(name: str, value: float) -> float:
    if not value > 0:
        raise ConfigError(f"{name} must be > 0, not {value!r}")
    return float(value)


@attrs.frozen
class ExportOptions:
    """The keyword options both exporters take (validated at construction)."""

    list_id: int
    mapping: FieldMapping
    dry_run: bool = False
    on_progress: Callable[[ExportProgress], Any] | None = None
    exclude_automations: bool = False
    batch_size: int = BULK_MAX_CONTACTS
    max_batch_bytes: int = BULK_MAX_BYTES
    max_in_flight: int = 100
    poll_interval: float = 2.0
    settle_timeout: float = 3600.0
    max_resubmits: int = 2
    concurrency: int = 4
    cancel: CancelToken | None = None
    full_refresh: bool = False
    on_leave: OnLeave | None = None
    max_leave: float = DEFAULT_MAX_LEAVE
    on_error: Callable[[RowError], Any] | None = None

    def __attrs_post_init__(self) -> None:
        if isinstance(self.list_id, bool) or not isinstance(self.list_id, int) or self.list_id < 1:
            raise ConfigError(f"list_id must be a positive int, not {self.list_id!r}")
        if not isinstance(self.mapping, FieldMapping):
            raise ConfigError(f"mapping must be a FieldMapping, not {type(self.mapping).__name__}")
        if not 1 <= self.batch_size <= BULK_MAX_CONTACTS:
            raise ConfigError(f"batch_size must be between 1 and {BULK_MAX_CONTACTS}")
        if not 1 <= self.max_in_flight <= 10_000:
            raise ConfigError("max_in_flight must be between 1 and 10,000")
        if not 1 <= self.concurrency <= 64:
            raise ConfigError("concurrency must be between 1 and 64")
        if self.max_resubmits < 0:
            raise ConfigError("max_resubmits must be >= 0")
        _positive("poll_interval", self.poll_interval)
        _positive("settle_timeout", self.settle_timeout)
        if self.on_progress is not None and not callable(self.on_progress):
            raise ConfigError("on_progress must be callable")
        if self.on_error is not None and not callable(self.on_error):
            raise ConfigError("on_error must be callable")
        if self.cancel is not None and not callable(getattr(self.cancel, "is_set", None)):
            raise ConfigError("cancel must have an is_set() method (an Event)")

    def row_errors(self) -> RowErrors:
        """The one collector of an export's row errors, shared by its planner and scheduler."""
        return RowErrors(on_error=self.on_error)

    def planner(
        self,
        available_fields: Iterable[CustomField],
        errors: RowErrors | None = None,
        *,
        one_email_per_key: bool = False,
    ) -> Planner:
        available = list(available_fields)
        field_ids = resolve_fields(self.mapping, available) if self.mapping.fields else {}
        return Planner(
            self.mapping,
            field_ids,
            list_id=self.list_id,
            field_types={f.id: f.type for f in available},
            field_options={f.id: f.options for f in available if f.options},
            batch_size=self.batch_size,
            max_batch_bytes=self.max_batch_bytes,
            exclude_automations=self.exclude_automations,
            errors=errors,
            one_email_per_key=one_email_per_key,
        )

    def delta(self) -> Delta:
        return Delta(
            batch_size=self.batch_size,
            max_bytes=self.max_batch_bytes,
            exclude_automations=self.exclude_automations,
            full_refresh=self.full_refresh,
        )

    def scheduler(
        self,
        poll_rate: float | None = None,
        bulk_per_minute: float | None = None,
        errors: RowErrors | None = None,
    ) -> Scheduler:
        return Scheduler(
            tally=Tally(errors=errors if errors is not None else RowErrors()),
            poll_rate=poll_rate,
            # dispatch a submission this early before its bulk slot (half a slot, at most 0.1 s)
            submit_lead=min(0.1, 30.0 / bulk_per_minute) if bulk_per_minute else 0.1,
            max_in_flight=self.max_in_flight,
            poll_interval=self.poll_interval,
            max_poll_interval=max(self.poll_interval, 15.0),
            settle_timeout=self.settle_timeout,
            max_resubmits=self.max_resubmits,
        )


def poll_rate(requests_per_second: float | None, bulk_per_minute: float | None) -> float | None:
    """Polls a second an export may make: 80% of the request budget that submissions (one
    general request per bulk import) leave free, and at least a fifth of the budget."""
    if not requests_per_second:
        return None
    spare = requests_per_second - (bulk_per_minute or 0.0) / 60.0
    return max(0.2 * requests_per_second, 0.8 * spare)


@attrs.frozen
class Ending:
    """Why an export stops before it has sent all its input.

    ``cancelled``: the cancel token was set; ``read_error``: the iterable raised (``cause``);
    ``fatal``: the export cannot go on (``cause`` is the API error). A fatal error outranks
    the other two.
    """

    kind: Literal["cancelled", "read_error", "fatal"]
    reason: str
    cause: BaseException | None = None


_CANCELLED = "the export was cancelled before it was sent"


@attrs.define(eq=False)
class ExportRun:
    """One export in progress.

    Its lifecycle is the scheduler's :class:`~._schedule.Phase` (reading, draining, stopping,
    halted) plus, once it stops early, one :class:`Ending` saying why. ``cancelled`` records
    that the cancel token was seen set (the report says so even if a fatal error followed).
    """

    options: ExportOptions
    planner: Planner
    scheduler: Scheduler
    started: float
    clock: Callable[[], float]
    requests: int = 0
    ending: Ending | None = None
    cancelled: bool = False
    next_index: int = 0
    dry_run_planned: int = 0
    #: With a state: compares each planned batch with it (None without a state).
    delta: Delta | None = None
    #: With ``on_leave``: leavers taken off (counted, in a dry run) and those that failed.
    removed: int = 0
    removal_errors: tuple[RemovalError, ...] = ()
    #: Set once the input ends: what looks like a mistake in the mapping (ExportReport.notes).
    notes: tuple[str, ...] = ()

    @property
    def phase(self) -> Phase:
        return self.scheduler.phase

    @property
    def tally(self) -> Tally:
        return self.scheduler.tally

    @property
    def errors(self) -> RowErrors:
        """Every row error of the export (the planner's and the tally's, one collector)."""
        return self.tally.errors

    _counter: Iterator[int] = attrs.field(factory=itertools.count, repr=False)
    _base_requests: int = 0
    _callback_stopped: bool = False
    _input_ended: bool = False

    def count_request(self) -> None:
        """One more HTTP request (called from worker threads too: itertools.count is atomic)."""
        self.requests = self._base_requests + next(self._counter) + 1

    def next_step(
        self, running: int, now: float, bulk_wait: float
    ) -> Submit | Poll | Wait | Input | Stop | None:
        """The next action, or None: wait for a running request's answer first.

        At most ``concurrency`` requests run at once; after a fatal error nothing new is
        submitted (in-flight batches are still polled), after a second one nothing at all.
        """
        self.is_cancelled()
        self.check_callback()
        if running >= self.options.concurrency or self.phase is Phase.HALTED:
            return None
        return self.scheduler.next_action(now, bulk_wait=bulk_wait)

    def apply(self, settle: Callable[[], None]) -> None:
        """Apply one request's answer to the scheduler (in the driver's loop, never a worker)."""
        try:
            settle()
        except CannotContinue as fatal:
            self.cannot_continue(fatal)
        self.check_callback()

    def check_callback(self) -> bool:
        """If ``on_error`` raised: the export cannot go on (a fatal error, recorded once)."""
        failure = self.errors.failure
        if failure is None:
            return False
        if not self._callback_stopped:
            self._callback_stopped = True
            if self.ending is None or self.ending.kind != "fatal":
                self.cannot_continue(CannotContinue(str(failure), failure.__cause__))
        return True

    def cannot_continue(self, fatal: CannotContinue) -> None:
        """A fatal error: submit nothing more (after a second one, send nothing at all)."""
        if self.ending is not None and self.ending.kind == "fatal":
            self.scheduler.halt()
            return
        self.ending = Ending("fatal", fatal.reason, fatal.cause)
        self.scheduler.stop()
        logger.warning("export to list %d stopping: %s", self.options.list_id, fatal)

    def is_cancelled(self) -> bool:
        token = self.options.cancel
        if not self.cancelled and token is not None and token.is_set():
            self.cancelled = True
            if self.ending is None:
                self.ending = Ending("cancelled", _CANCELLED)
            self.scheduler.stop()
            logger.info(
                "export to list %d cancelled: settling what is in flight", self.options.list_id
            )
        return self.cancelled

    def feed(self, profile: object) -> Batch | None:
        index = self.next_index
        self.next_index += 1
        batch = self.planner.feed(index, profile)
        failure = self.errors.failure
        if failure is not None:
            # on_error raised: the export stops; reading ends on an exception (the driver's
            # read loop ends on one), unless this profile completed a batch, which the
            # driver then settles as not sent (the phase no longer submits).
            self.check_callback()
            if batch is None:
                raise failure
        return batch

    def end_of_input(self) -> Batch | None:
        self.scheduler.end_input()
        if not self._input_ended:
            self._input_ended = True
            self.notes = tuple(
                f"none of the {read:,} profiles read has {source!r} for {target}: is it spelt "
                "as in the profiles? (a missing value is left out of the contact)"
                for source, target, read in self.planner.never_found()
            )
            for note in self.notes:
                logger.warning("export to list %d: %s", self.options.list_id, note)
        return self.planner.close()

    def input_failed(self, exc: BaseException) -> Batch | None:
        """The iterable raised after ``next_index`` profiles: stop reading, keep what was read."""
        if exc is self.errors.failure:  # on_error raised (see feed): a fatal error
            self.check_callback()
            batch = self.end_of_input()
            self.scheduler.stop()
            return batch
        reason = (
            f"reading profile {self.next_index} from the iterable raised "
            f"{type(exc).__name__}: {exc}"[:500]
        )
        if self.ending is None or self.ending.kind == "cancelled":
            self.ending = Ending("read_error", reason, exc)
        logger.warning("export to list %d: %s", self.options.list_id, reason)
        batch = self.end_of_input()
        self.scheduler.stop()
        return batch

    def take(self, batches: Iterable[Batch]) -> None:
        """Batches ready to send: count them (dry run) or schedule them."""
        for batch in batches:
            if self.options.dry_run:
                self.dry_run_planned += len(batch)
                self.progress()
            elif not self.phase.submits:
                ending = self.ending
                if ending is not None and ending.kind == "read_error":
                    reason = ending.reason
                elif ending is not None and ending.kind == "fatal":
                    reason = f"the export stopped before this batch was sent: {ending.reason}"
                else:
                    reason = "the export was cancelled before this batch was sent"
                self.tally.not_exported(batch, "failed", reason)
            else:
                self.scheduler.add(batch)

    def take_effects(self) -> list[Effect]:
        """What to write to the state now (and forget here)."""
        effects = self.scheduler.effects
        if not effects:
            return []
        self.scheduler.effects = []
        return effects

    def report(self) -> ExportReport:
        planner, tally, errors = self.planner, self.tally, self.errors
        exported = self.dry_run_planned if self.options.dry_run else tally.exported
        return ExportReport(
            list_id=self.options.list_id,
            received=planner.received,
            exported=exported,
            unchanged=self.delta.unchanged if self.delta is not None else 0,
            incremental=self.delta is not None,
            duplicates=planner.duplicates,
            invalid=planner.invalid,
            rejected=tally.rejected,
            failed=tally.failed,
            errors=errors.kept(),
            errors_omitted=errors.omitted,
            reasons=dict(sorted(errors.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            requests=self.requests,
            elapsed=self.clock() - self.started,
            dry_run=self.options.dry_run,
            cancelled=self.cancelled,
            removed=self.removed,
            removal_errors=self.removal_errors,
            notes=self.notes,
        )

    def progress(self) -> None:
        callback = self.options.on_progress
        if callback is None:
            return
        tally = self.tally
        in_flight = sum(len(f.batch) for f in self.scheduler.in_flight) + sum(
            len(s.batch) for s in self.scheduler.pending
        )
        callback(
            ExportProgress(
                received=self.planner.received,
                exported=self.dry_run_planned if self.options.dry_run else tally.exported,
                duplicates=self.planner.duplicates,
                invalid=self.planner.invalid,
                rejected=tally.rejected,
                failed=tally.failed,
                in_flight=in_flight,
                requests=self.requests,
                elapsed=self.clock() - self.started,
                unchanged=self.delta.unchanged if self.delta is not None else 0,
            )
        )

    def finish(self) -> ExportReport:
        """The export ran to its end (or was cancelled): settle what is left, report.

        Raises :class:`ExportError` carrying the report if the iterable raised, or if a fatal
        error stopped the export.
        """
        self.check_callback()
        ending = self.ending
        if ending is not None and ending.kind == "fatal":
            raise self.stopped(ending.reason) from ending.cause
        self.scheduler.abandon(ending.reason if ending is not None else _CANCELLED)
        report = self._final_report()
        if ending is not None and ending.kind == "read_error":
            raise ExportError(ending.reason, report=report) from ending.cause
        return report

    def stopped(self, reason: str) -> ExportError:
        """The export cannot go on: settle what is left as failed; the error to raise."""
        self.scheduler.abandon(f"the export stopped: {reason}")
        return ExportError(f"export stopped early: {reason}", report=self._final_report())

    def interrupted(self) -> None:
        """The export was aborted (a second Ctrl-C, task cancellation, a bug): every row read
        and not settled becomes failed, so :attr:`SegmentExporter.report` still adds up."""
        reason = "the export was interrupted before ActiveCampaign confirmed this row"
        # Rows the planner or the delta holds (read, not yet in a batch) were never sent.
        self.tally.not_exported(self.end_of_input() or (), "failed", reason)
        self.tally.not_exported(self.delta.close() or () if self.delta else (), "failed", reason)
        self.scheduler.abandon(reason)

    def _final_report(self) -> ExportReport:
        report = self.report()
        logger.info("%s", report.summary())  # counts only: no email and no key at INFO
        return report


def check_list(list_: ContactList, list_id: int) -> None:
    """The list the account returned is the one asked for."""
    if list_.id != list_id:
        raise ConfigError(f"asked for list {list_id}, ActiveCampaign returned list {list_.id}")


def small_export(batches: list[Batch], run: ExportRun) -> list[PlannedContact] | None:
    """The contacts to send one by one, when the whole export is under :data:`SMALL_EXPORT`.

    Not in a dry run, and not when reading failed: then, as on the bulk path, nothing read
    after the last submission is sent.
    """
    read_failed = run.ending is not None and run.ending.kind == "read_error"
    if run.options.dry_run or read_failed or run.phase is Phase.READING:
        return None
    if len(batches) == 1 and len(batches[0]) < SMALL_EXPORT:
        return list(batches[0])
    return None
