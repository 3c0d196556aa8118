"""What the sync and async exporters share: options, the checks before sending, the run.

:class:`ExporterBase` validates the options once and builds each export's
:class:`~._run.ExportRun`. :func:`preflight` is the checks made before any contact is sent, as
a sans-I/O generator like :mod:`._small`: it yields each operation and is sent its result, so
one piece of code serves both exporters (driven by :func:`acexport._caller.drive` or
:func:`acexport._async_caller.adrive`).
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

import attrs

from .._async_caller import AsyncCaller
from .._caller import Caller
from .._core import _operations as ops
from .._core._call import Sleep
from .._core._limits import BULK_MAX_BYTES, BULK_MAX_CONTACTS
from .._exceptions import ConfigError, ExportError, NotFoundError, StateError
from .._models import ContactList, CustomField
from .._report import ExportProgress, ExportReport, RowError
from .._state import ListState, ScanningListState, StateStore, TrackedContact, open_store
from ._confirmed import MAX_INDEXED, ConfirmedIndex
from ._mapping import FieldMapping
from ._membership import (
    DEFAULT_MAX_LEAVE,
    OnLeave,
    Removal,
    check_on_leave,
    collect,
    count,
    unsubscribe_steps,
    untag_steps,
)
from ._resume import Resumed
from ._run import CancelToken, ExportOptions, ExportRun, check_list, poll_rate
from ._schedule import CannotContinue

__all__ = [
    "ExporterBase",
    "StateArg",
    "StateSession",
    "check_profiles",
    "count_leavers",
    "leave_steps",
    "log_resumed",
    "next_leavers",
    "preflight",
    "state_failed",
]

#: What ``state=`` takes: a path to an SQLite file, a ``postgresql://`` URL, or any
#: :class:`StateStore`.
StateArg: TypeAlias = "str | os.PathLike[str] | StateStore | None"

logger = logging.getLogger("acexport")

CallerT = TypeVar("CallerT", Caller, AsyncCaller)
ClientT = TypeVar("ClientT")

#: Profiles read between two looks at the cancel token.
CANCEL_CHECK_EVERY = 256
#: Wake at least this often (seconds) to look at the cancel token.
MAX_IDLE_SLEEP = 1.0


class ExporterBase(Generic[ClientT, CallerT]):
    """The options both exporters take and the latest run's report."""

    def __init__(
        self,
        client: ClientT,
        list_id: int,
        mapping: FieldMapping,
        *,
        dry_run: bool = False,
        on_progress: Callable[[ExportProgress], Any] | None = None,
        exclude_automations: bool = False,
        batch_size: int = BULK_MAX_CONTACTS,
        max_batch_bytes: int = BULK_MAX_BYTES,
        max_in_flight: int = 100,
        poll_interval: float = 2.0,
        settle_timeout: float = 3600.0,
        max_resubmits: int = 2,
        concurrency: int = 4,
        cancel: CancelToken | None = None,
        state: StateArg = None,
        full_refresh: bool = False,
        on_leave: OnLeave | None = None,
        max_leave: float = DEFAULT_MAX_LEAVE,
        on_error: Callable[[RowError], Any] | None = None,
    ) -> None:
        if not (state is None or isinstance(state, (str, os.PathLike, StateStore))):
            raise ConfigError(
                "state must be a path (str or os.PathLike) or a StateStore, not "
                f"{type(state).__name__}"
            )
        if isinstance(state, str) and not state.strip():
            raise ConfigError("state must not be an empty path")
        check_on_leave(
            on_leave,
            max_leave,
            has_state=state is not None,
            tags=mapping.tags if isinstance(mapping, FieldMapping) else (),
        )
        self._state: StateArg = state
        self._caller: CallerT = self._seam(client)
        self._options = ExportOptions(
            list_id=list_id,
            mapping=mapping,
            dry_run=dry_run,
            on_progress=on_progress,
            exclude_automations=exclude_automations,
            batch_size=batch_size,
            max_batch_bytes=max_batch_bytes,
            max_in_flight=max_in_flight,
            poll_interval=poll_interval,
            settle_timeout=settle_timeout,
            max_resubmits=max_resubmits,
            concurrency=concurrency,
            cancel=cancel,
            full_refresh=bool(full_refresh),
            on_leave=on_leave,
            max_leave=float(max_leave),
            on_error=on_error,
        )
        self._run: ExportRun | None = None

    @classmethod
    def _seam(cls, client: object) -> CallerT:
        """The client's caller; ConfigError for a client of the other kind."""
        raise NotImplementedError

    @property
    def report(self) -> ExportReport | None:
        """The latest export's report so far (also after it was interrupted), or None."""
        return self._run.report() if self._run is not None else None

    def _start(self, fields: Sequence[CustomField], started: float, requests: int) -> ExportRun:
        """A new run, after the checks (``requests`` of them) and with the account's fields."""
        opts, limits = self._options, self._caller.limits
        errors = opts.row_errors()
        scheduler = opts.scheduler(
            poll_rate(limits.requests_per_second, limits.bulk_imports_per_minute),
            limits.bulk_imports_per_minute,
            errors,
        )
        # Keys are followed only with a state: without one, a key changes no email.
        planner = opts.planner(fields, errors, one_email_per_key=self._state is not None)
        run = ExportRun(opts, planner, scheduler, started, self._caller.clock)
        run.requests = run._base_requests = requests
        if self._state is not None:
            run.delta = opts.delta()
            if not opts.dry_run:
                scheduler.effects = []
        self._run = run
        logger.info("exporting to list %d%s", opts.list_id, " (dry run)" if opts.dry_run else "")
        return run

    def _open_state(self) -> StateSession | None:
        """The state of this export's list, locked for writing unless this is a dry run."""
        if self._state is None:
            return None
        opts = self._options
        return StateSession(
            self._state,
            self._caller.api_url,
            opts.list_id,
            write=not opts.dry_run,
            compare=not opts.full_refresh,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._caller!r}, list_id={self._options.list_id}, "
            f"mapping={self._options.mapping!r})"
        )


class StateSession:
    """The state of one export's list, opened for one run: every call here is blocking I/O
    (the async exporter makes each in a worker thread)."""

    def __init__(
        self, state: StateArg, account: str, list_id: int, *, write: bool, compare: bool
    ) -> None:
        assert state is not None
        self._owned = not isinstance(state, StateStore)
        store = open_store(state)
        self.store: StateStore = store
        self.write = write
        try:
            self.list: ListState = store.open_list(account, list_id, write=write)
        except BaseException:
            if self._owned:
                store.close()
            raise
        self._compare = compare
        #: The list's confirmed digests in memory, when the state can hand them over.
        self.index: ConfirmedIndex | None = None

    def load_index(self) -> None:
        """Read the confirmed digests into memory (after resuming, before comparing), when
        the list state can hand them over and there are not too many."""
        state = self.list
        if not self._compare or not isinstance(state, ScanningListState):
            return
        if state.count_confirmed() > MAX_INDEXED:
            return
        index = ConfirmedIndex()
        for rows in state.scan_confirmed():
            index.add_all(rows)
        self.index = index

    def resumed(self, resumed: Resumed) -> None:
        for batch_id, emails in resumed.settled:
            self.list.settle_batch(batch_id, emails)

    def left(self, run: ExportRun, removal: Removal) -> None:
        """Leavers were taken off: forget those removed, remember what was learned."""
        run.removed += len(removal.removed)
        run.removal_errors += removal.errors
        try:
            self.list.drop(removal.removed)
            if removal.contact_ids:
                self.list.remember_contact_ids(dict(removal.contact_ids))
        except StateError as exc:
            raise ExportError(
                f"{run.removed} leavers were taken off list {run.options.list_id}, but the "
                f"state in {self.store.location} could not forget them ({exc}); the next run "
                "takes them off again, which changes nothing",
                report=run.report(),
            ) from exc
        if removal.gone:
            logger.info(
                "list %d: %d leavers no longer exist in ActiveCampaign (forgotten)",
                run.options.list_id,
                removal.gone,
            )

    def close(self, report: ExportReport | None) -> None:
        """Remember the run (not a dry run's) and release the list and its lock."""
        try:
            if self.write and report is not None:
                try:
                    self.list.record_run(_run_record(report))
                except StateError as exc:  # the run's rows were saved; only the summary is lost
                    logger.warning("could not record the run in %s: %s", self.store.location, exc)
        finally:
            self.list.close()
            if self._owned:
                self.store.close()


def _run_record(report: ExportReport) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {
        "finished_at": now,
        "summary": report.summary(),
        "received": report.received,
        "exported": report.exported,
        "unchanged": report.unchanged,
        "duplicates": report.duplicates,
        "invalid": report.invalid,
        "rejected": report.rejected,
        "failed": report.failed,
        "cancelled": report.cancelled,
        "removed": report.removed,
        "removal_failed": report.removal_failed,
    }


def count_leavers(run: ExportRun, session: StateSession | None) -> int:
    """How many leavers to take off now (blocking: reads the state). None at all unless the
    run has ``on_leave`` and read its whole input without stopping early; a dry run only
    counts them (in ``run.removed``) and returns 0. Too many leaving (``max_leave``) raises
    :class:`ExportError` and removes nobody."""
    opts = run.options
    if session is None or opts.on_leave is None or run.ending is not None or run.cancelled:
        return 0
    try:
        leaving, problem = count(
            session.list, run.planner.planned, opts.max_leave, dry_run=opts.dry_run
        )
    except StateError as exc:
        raise _not_read(run, session, exc) from exc
    if problem is not None:
        logger.warning("list %d: %s", opts.list_id, problem)
        raise ExportError(problem, report=run.report())
    if opts.dry_run:
        run.removed = leaving
        return 0
    if leaving:
        logger.info("list %d: %d leavers to %s", opts.list_id, leaving, opts.on_leave)
    return leaving


def next_leavers(
    run: ExportRun, session: StateSession, after: str
) -> tuple[list[TrackedContact], str | None]:
    """The next chunk of leavers after email ``after``, and the next ``after`` (None: the
    last chunk). Blocking: reads the state."""
    try:
        return collect(session.list, run.planner.planned, after)
    except StateError as exc:
        raise _not_read(run, session, exc) from exc


def _not_read(run: ExportRun, session: StateSession, exc: StateError) -> ExportError:
    return ExportError(
        f"could not look for leavers in the state {session.store.location}: {exc}; "
        f"{run.removed} were removed before",
        report=run.report(),
    )


def leave_steps(
    run: ExportRun, leavers: Sequence[TrackedContact]
) -> Generator[ops.Operation[Any] | Sleep, Any, Removal]:
    """How to take ``leavers`` off, as the run's ``on_leave`` says."""
    opts = run.options
    if opts.on_leave == "untag":
        return untag_steps(leavers, opts.mapping.tags, run.is_cancelled)
    return unsubscribe_steps(
        leavers,
        opts.list_id,
        poll_interval=opts.poll_interval,
        settle_timeout=opts.settle_timeout,
        stop=run.is_cancelled,
    )


def log_resumed(resumed: Resumed, list_id: int) -> None:
    logger.info(
        "list %d: settled %d batches an earlier run left open (%d contacts confirmed); "
        "%d still open",
        list_id,
        len(resumed.settled),
        resumed.confirmed,
        resumed.left,
    )


def state_failed(run: ExportRun, location: str, exc: StateError) -> None:
    """The state could not be read or written mid-export: the export cannot go on."""
    run.cannot_continue(CannotContinue(f"the state in {location} failed: {exc}", exc))


def wrong_client(exporter: str, expected: str, client: object) -> ConfigError:
    """The error for a client of the other kind (or not a client) given to an exporter."""
    hint = {
        "AsyncActiveCampaign": ": use AsyncSegmentExporter with AsyncActiveCampaign",
        "ActiveCampaign": ": use SegmentExporter with ActiveCampaign",
    }.get(type(client).__name__, "")
    return ConfigError(f"{exporter} takes an {expected}, not {type(client).__name__}{hint}")


def check_profiles(profiles: object) -> None:
    """A single profile (a dict, a string) or a DataFrame passed where an iterable of
    profiles belongs."""
    if isinstance(profiles, (str, bytes, Mapping)):
        raise ConfigError(
            f"export() takes an iterable of profiles, not a single {type(profiles).__name__}: "
            "pass a list of them (e.g. [profile])"
        )
    module = type(profiles).__module__.split(".")[0]
    if module in ("pandas", "polars") and type(profiles).__name__ == "DataFrame":
        how = (
            "df.to_dict('records') or df.itertuples(index=False)"
            if module == "pandas"
            else "df.iter_rows(named=True)"
        )
        raise ConfigError(
            f"export() takes an iterable of profiles; iterating a {module} DataFrame gives its "
            f"column names, not its rows: pass {how}"
        )


def preflight(options: ExportOptions) -> Generator[ops.Operation[Any], Any, list[CustomField]]:
    """Before any contact is sent: the key works (``users/me``), the list exists, and the
    account's custom fields (only when the mapping has some). Returns the fields."""
    yield ops.users_me()
    try:
        list_: ContactList = yield ops.get_list(options.list_id)
    except NotFoundError as exc:
        raise NotFoundError(
            f"list {options.list_id} does not exist in this account (client.lists.list() "
            f"lists them); ActiveCampaign said: {exc.message}",
            method=exc.method,
            url=exc.url,
            status_code=exc.status_code,
            errors=exc.errors,
            body=exc.body,
        ) from None
    check_list(list_, options.list_id)
    fields: dict[int, CustomField] = {}
    if options.mapping.fields:
        pager = ops.fields_pager()
        op: ops.Operation[Any] | None = pager.first()
        while op is not None:
            page: ops.Page[CustomField] = yield op
            for field in page.items:
                # Offset paging lists a field twice when one is added while it walks: keep
                # one, and no options if the two copies disagree (nothing is checked then).
                seen = fields.get(field.id)
                if seen is None:
                    fields[field.id] = field
                elif seen.options != field.options:
                    fields[field.id] = attrs.evolve(seen, options=())
            op = pager.next(op, page)
    return list(fields.values())
