"""``SegmentExporter``: the only I/O of a synchronous export.

It drives the pure parts (:class:`~._pipeline.Planner` plans batches,
:class:`~._schedule.Scheduler` decides what to send and settles every row,
:class:`~._run.ExportRun` keeps the counts) over the client's :class:`~acexport._caller.Caller`:
it reads the iterable, sends and sleeps, nothing else. The async twin is
:mod:`._async_export`; ``tests/design/test_twins.py`` keeps the two from drifting apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from .._caller import Caller, drive
from .._client import ActiveCampaign, caller_of
from .._core._call import Sleep
from .._core._operations import Operation
from .._exceptions import APIError, NotFoundError, StateError
from .._report import ExportReport
from ._common import (
    CANCEL_CHECK_EVERY,
    MAX_IDLE_SLEEP,
    ExporterBase,
    StateSession,
    check_profiles,
    count_leavers,
    leave_steps,
    log_resumed,
    next_leavers,
    preflight,
    state_failed,
)
from ._common import wrong_client as _wrong_client
from ._delta import save
from ._identity import identity_steps, moved, moves_of
from ._pipeline import Batch, PlannedContact
from ._resume import resume_steps
from ._run import ExportRun, small_export
from ._schedule import CannotContinue, Input, Poll, Submit, Wait, operation
from ._small import small_export_steps

__all__ = ["SegmentExporter"]


class SegmentExporter(ExporterBase[ActiveCampaign, Caller]):
    """Exports any iterable of profiles onto one ActiveCampaign list.

    ``export(profiles)`` checks the credentials, the list and the mapping's custom fields
    before it sends any contact (raising :class:`AuthenticationError`, :class:`NotFoundError`
    or :class:`ConfigError`), then streams the profiles: map, validate, dedupe (first
    occurrence wins), and send in bulk-import batches of up to 250 contacts at the account's
    bulk budget, polling earlier batches meanwhile. Under 10 contacts in all, it uses the
    contact endpoints instead. It returns an :class:`ExportReport` that accounts for every
    profile read.

    Options: ``dry_run`` (do everything but send), ``on_progress`` (called with
    :class:`ExportProgress` at least once per batch), ``on_error`` (called once with every
    :class:`RowError`, its ``profile`` included, as the row is settled, from the thread that
    called ``export``; if it raises, the export stops with :class:`ExportError`; the report
    itself keeps only the first 10,000), ``exclude_automations``, ``batch_size``
    (at most 250), ``max_in_flight`` (batches submitted and not yet settled; bounds memory),
    ``poll_interval`` and ``settle_timeout`` (seconds), ``max_resubmits`` (for batches that end
    failed or interrupted), ``concurrency`` (requests at once, default 4: submits and polls
    overlap so the bulk budget stays busy; the client's rate limits still hold), and
    ``cancel`` (an Event: when set, nothing more is read or submitted, what is in flight
    settles, and the report comes back with ``cancelled=True``), ``state`` (a path or a
    :class:`StateStore`: contacts confirmed as they are are not sent again), ``full_refresh``,
    ``on_leave`` (``"unsubscribe"`` or ``"untag"``: with a state, contacts an earlier run
    exported that are not in this one are taken off the list once the whole input was read;
    see docs/membership.md) and ``max_leave`` (default 0.1: when a larger share of the tracked
    contacts would leave, nobody is removed and :class:`ExportError` is raised).

    If the iterable raises, or the export cannot go on (the key is revoked, the API stays
    down), it raises :class:`ExportError` whose ``report`` still adds up.
    """

    @classmethod
    def _seam(cls, client: object) -> Caller:
        if not isinstance(client, ActiveCampaign):
            raise _wrong_client(cls.__name__, "ActiveCampaign", client)
        return caller_of(client)

    def export(self, profiles: Iterable[Any]) -> ExportReport:
        """Export ``profiles`` and return the report. See the class docstring."""
        check_profiles(profiles)
        caller, opts = self._caller, self._options
        started = caller.now()
        checks: list[None] = []
        count = partial(checks.append, None)
        session = self._open_state()
        run: ExportRun | None = None
        try:
            fields = drive(preflight(opts), partial(caller.run, on_send=count), (NotFoundError,))
            if session is not None:
                if session.write:
                    self._resume(session, count)
                session.load_index()
            run = self._start(fields, started, len(checks))
            return self._export(run, session, iter(profiles))
        finally:
            if session is not None:
                report = run.report() if run is not None else None
                session.close(report)

    def _resume(self, session: StateSession, count: Callable[[], None]) -> None:
        """Settle the batches an earlier run left open, before anything new is sent."""
        batches = session.list.open_batches()
        if not batches:
            return
        caller, opts = self._caller, self._options
        steps = resume_steps(
            batches, poll_interval=opts.poll_interval, settle_timeout=opts.settle_timeout
        )
        resumed = drive(steps, partial(perform, caller, count), (APIError,))
        session.resumed(resumed)
        log_resumed(resumed, opts.list_id)

    def _export(
        self, run: ExportRun, session: StateSession | None, source: Iterator[Any]
    ) -> ExportReport:
        try:
            first = self._read(run, session, source)
            small = small_export(first, run)
            if small is not None:
                self._send_small(run, session, small)
            else:
                run.take(first)
                self._loop(run, session, source)
        except CannotContinue as fatal:  # only the small path raises it; the loop records it
            raise run.stopped(fatal.reason) from fatal.cause
        except BaseException:
            run.interrupted()
            raise
        return self._leave(run, session)

    def _leave(self, run: ExportRun, session: StateSession | None) -> ExportReport:
        """The export read its whole input: take leavers off the list (``on_leave``), a chunk
        at a time, each written to the state before the next is read."""
        report = run.finish()
        if not count_leavers(run, session):
            return run.report() if run.removed else report
        assert session is not None
        after: str | None = ""
        while after is not None:
            leavers, after = next_leavers(run, session, after)
            if leavers:
                steps = leave_steps(run, leavers)
                count = partial(perform, self._caller, run.count_request)
                removal = drive(steps, count, (APIError,))
                session.left(run, removal)
        return run.report()

    def _read(
        self, run: ExportRun, session: StateSession | None, source: Iterator[Any]
    ) -> list[Batch]:
        """Read profiles until batches are ready to send (or the input ends)."""
        if run.is_cancelled():  # set before (or while) reading: read nothing more
            return self._last(run, session, run.end_of_input())
        try:
            for profile in source:
                batch = run.feed(profile)
                if batch is not None:
                    ready = self._changed(run, session, batch)
                    if ready:
                        return ready
                if run.next_index % CANCEL_CHECK_EVERY == 0 and run.is_cancelled():
                    return self._last(run, session, run.end_of_input())
        except StateError as exc:
            assert session is not None
            state_failed(run, session.store.location, exc)
            return self._last(run, session, run.end_of_input())
        except Exception as exc:
            return self._last(run, session, run.input_failed(exc))
        return self._last(run, session, run.end_of_input())

    def _changed(self, run: ExportRun, session: StateSession | None, batch: Batch) -> list[Batch]:
        """The batch, less what the state confirmed as it is (re-batched)."""
        delta = run.delta
        if delta is None or session is None or not run.phase.submits:
            return [batch]
        if run.options.mapping.key is not None:  # identity: emails changed in place first
            dry_run = run.options.dry_run
            moves = moves_of(session.list, run.planner, batch, dry_run)
            if moves:
                steps = identity_steps(moves)
                result = drive(
                    steps, partial(perform, self._caller, run.count_request), (APIError,)
                )
                batch = moved(session.list, run.tally, batch, result)
        if session.index is not None or delta.full_refresh:
            return delta.add(batch, session.index or {})
        return delta.add(batch, session.list.confirmed(delta.emails(batch)))

    def _last(
        self, run: ExportRun, session: StateSession | None, batch: Batch | None
    ) -> list[Batch]:
        ready = self._changed(run, session, batch) if batch is not None else []
        rest = run.delta.close() if run.delta is not None else None
        return [*ready, rest] if rest is not None else ready

    def _save(self, run: ExportRun, session: StateSession | None) -> None:
        """Write to the state what the answers applied so far mean for it."""
        effects = run.take_effects()
        if session is None or not effects:
            return
        try:
            save(session.list, effects)
        except StateError as exc:
            state_failed(run, session.store.location, exc)

    def _loop(self, run: ExportRun, session: StateSession | None, source: Iterator[Any]) -> None:
        """Read, submit and poll until everything settles: up to ``concurrency`` requests run
        in worker threads; their answers are applied here, one at a time."""
        caller = self._caller
        pool = ThreadPoolExecutor(run.options.concurrency, thread_name_prefix="acexport-export")
        running: set[Future[Callable[[], None]]] = set()
        try:
            while True:
                action = run.next_step(len(running), caller.now(), caller.bulk_wait())
                if isinstance(action, Input):
                    run.take(self._read(run, session, source))
                    continue
                if isinstance(action, (Submit, Poll)):
                    running.add(pool.submit(self._request, run, action))
                    continue
                if not running:
                    if isinstance(action, Wait):
                        caller.sleep(min(action.seconds, MAX_IDLE_SLEEP))
                        continue
                    return
                timeout = min(action.seconds, MAX_IDLE_SLEEP) if isinstance(action, Wait) else None
                done, _ = futures.wait(running, timeout, futures.FIRST_COMPLETED)
                for future in done:
                    running.discard(future)
                    run.apply(future.result())
                self._save(run, session)
                run.progress()
        finally:
            # Normally nothing is running here; after an abort, do not wait for retries.
            pool.shutdown(wait=not running, cancel_futures=True)

    def _request(self, run: ExportRun, action: Submit | Poll) -> Callable[[], None]:
        """Send one submit or poll (in a worker thread); return how to apply its answer."""
        caller = self._caller
        outcome: object
        try:
            outcome = caller.run(operation(action), run.count_request)
        except APIError as error:
            outcome = error
        return partial(run.scheduler.answer, action, outcome, caller.now())

    def _send_small(
        self, run: ExportRun, session: StateSession | None, contacts: Sequence[PlannedContact]
    ) -> None:
        steps = small_export_steps(run, contacts)
        try:
            drive(steps, partial(self._caller.run, on_send=run.count_request), (APIError,))
        finally:
            self._save(run, session)


def perform(caller: Caller, count: Callable[[], None], step: Operation[Any] | Sleep) -> Any:
    """One step of a generator that yields operations and waits."""
    if isinstance(step, Sleep):
        caller.sleep(step.seconds)
        return None
    return caller.run(step, count)
