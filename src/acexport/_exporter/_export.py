"""``SegmentExporter`` and ``AsyncSegmentExporter``: the only I/O of an export.

Both drive the same pure parts (:class:`~._pipeline.Planner` plans batches,
:class:`~._schedule.Scheduler` decides what to send and settles every row,
:class:`~._run.ExportRun` keeps the counts) and differ only in how they read the iterable,
send a request and sleep.
"""

from __future__ import annotations

import logging
import math
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectSendStream

from .._async_client import AsyncActiveCampaign
from .._base import BaseClient
from .._client import ActiveCampaign
from .._core import _operations as ops
from .._exceptions import APIError, ConfigError
from .._models import CustomField
from ._mapping import FieldMapping
from ._pipeline import MAX_BATCH_BYTES, MAX_BATCH_SIZE, Batch, PlannedContact
from ._report import ExportProgress, ExportReport
from ._run import (
    CancelToken,
    ExportOptions,
    ExportRun,
    check_list,
    poll_rate,
    small_export,
)
from ._schedule import Fatal, Input, Poll, Submit, Wait, operation
from ._small import small_export_steps

__all__ = ["AsyncSegmentExporter", "SegmentExporter"]

logger = logging.getLogger("acexport")

_CANCEL_CHECK_EVERY = 256  # profiles read between two looks at the cancel token
_MAX_IDLE_SLEEP = 1.0  # wake at least this often to look at the cancel token


ClientT = TypeVar("ClientT", bound=BaseClient)


class _Exporter(Generic[ClientT]):
    """What both exporters share: their options and the latest run's report."""

    def __init__(
        self,
        client: ClientT,
        list_id: int,
        mapping: FieldMapping,
        *,
        dry_run: bool = False,
        on_progress: Callable[[ExportProgress], Any] | None = None,
        exclude_automations: bool = False,
        batch_size: int = MAX_BATCH_SIZE,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        max_in_flight: int = 100,
        poll_interval: float = 2.0,
        settle_timeout: float = 3600.0,
        max_resubmits: int = 2,
        concurrency: int = 4,
        cancel: CancelToken | None = None,
    ) -> None:
        expected = self._client_type()
        if not isinstance(client, expected):
            raise ConfigError(
                f"{type(self).__name__} takes an {expected.__name__}, not "
                f"{type(client).__name__}"
                + (
                    ": use AsyncSegmentExporter with AsyncActiveCampaign"
                    if isinstance(client, AsyncActiveCampaign)
                    else ": use SegmentExporter with ActiveCampaign"
                    if isinstance(client, ActiveCampaign)
                    else ""
                )
            )
        self._client: ClientT = client
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
        )
        self._run: ExportRun | None = None

    @classmethod
    def _client_type(cls) -> type[BaseClient]:
        return BaseClient

    @property
    def report(self) -> ExportReport | None:
        """The latest export's report so far (also after it was interrupted), or None."""
        return self._run.report() if self._run is not None else None

    def _start(self, fields: Sequence[CustomField], started: float, requests: int) -> ExportRun:
        """A new run, after the checks (``requests`` of them) and with the account's fields."""
        opts, limits = self._options, self._client._config
        scheduler = opts.scheduler(
            poll_rate(limits.requests_per_second, limits.bulk_imports_per_minute),
            limits.bulk_imports_per_minute,
        )
        run = ExportRun(opts, opts.planner(fields), scheduler, started, self._client._clock)
        run.requests = run._base_requests = requests
        self._run = run
        logger.info("exporting to list %d%s", opts.list_id, " (dry run)" if opts.dry_run else "")
        return run

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._client!r}, list_id={self._options.list_id}, "
            f"mapping={self._options.mapping!r})"
        )


def _check_profiles(profiles: object) -> None:
    """A single profile (a dict, a string) passed where an iterable of them belongs."""
    if isinstance(profiles, (str, bytes, Mapping)):
        raise ConfigError(
            f"export() takes an iterable of profiles, not a single {type(profiles).__name__}: "
            "pass a list of them (e.g. [profile])"
        )


class SegmentExporter(_Exporter[ActiveCampaign]):
    """Exports any iterable of profiles onto one ActiveCampaign list.

    ``export(profiles)`` checks the credentials, the list and the mapping's custom fields
    before it sends any contact (raising :class:`AuthenticationError`, :class:`NotFoundError`
    or :class:`ConfigError`), then streams the profiles: map, validate, dedupe (first
    occurrence wins), and send in bulk-import batches of up to 250 contacts at the account's
    bulk budget, polling earlier batches meanwhile. Under 10 contacts in all, it uses the
    contact endpoints instead. It returns an :class:`ExportReport` that accounts for every
    profile read.

    Options: ``dry_run`` (do everything but send), ``on_progress`` (called with
    :class:`ExportProgress` at least once per batch), ``exclude_automations``, ``batch_size``
    (at most 250), ``max_in_flight`` (batches submitted and not yet settled; bounds memory),
    ``poll_interval`` and ``settle_timeout`` (seconds), ``max_resubmits`` (for batches that end
    failed or interrupted), ``concurrency`` (requests at once, default 4: submits and polls
    overlap so the bulk budget stays busy; the client's rate limits still hold), and
    ``cancel`` (an Event: when set, nothing more is read or submitted, what is in flight
    settles, and the report comes back with ``cancelled=True``).

    If the iterable raises, or the export cannot go on (the key is revoked, the API stays
    down), it raises :class:`ExportError` whose ``report`` still adds up.
    """

    _client: ActiveCampaign

    @classmethod
    def _client_type(cls) -> type[BaseClient]:
        return ActiveCampaign

    def export(self, profiles: Iterable[Any]) -> ExportReport:
        """Export ``profiles`` and return the report. See the class docstring."""
        _check_profiles(profiles)
        client, opts = self._client, self._options
        started = client._clock()
        requests = 0

        def count() -> None:
            nonlocal requests
            requests += 1

        client._call(ops.users_me(), count)
        check_list(client._call(ops.get_list(opts.list_id), count), opts.list_id)
        fields = list(client._pages(ops.fields_pager(), count)) if opts.mapping.fields else []
        run = self._start(fields, started, requests)
        source = iter(profiles)
        try:
            first = self._read_batch(run, source)
            small = small_export(first, run)
            if small is not None:
                self._send_small(run, small)
            else:
                run.take(first)
                self._loop(run, source)
        except Fatal as fatal:  # only the small path raises it; the loop records it in run
            raise run.stopped(fatal) from fatal.cause
        except BaseException:
            run.interrupted()
            raise
        return run.finish()

    # --- reading ------------------------------------------------------------------------------

    def _read_batch(self, run: ExportRun, source: Iterator[Any]) -> Batch | None:
        if run.is_cancelled():  # set before (or while) reading: read nothing more
            return run.end_of_input()
        try:
            for profile in source:
                batch = run.feed(profile)
                if batch is not None:
                    return batch
                if run.next_index % _CANCEL_CHECK_EVERY == 0 and run.is_cancelled():
                    return run.end_of_input()
        except Exception as exc:
            return run.input_failed(exc)
        return run.end_of_input()

    # --- bulk path ---------------------------------------------------------------------------

    def _loop(self, run: ExportRun, source: Iterator[Any]) -> None:
        """Read, submit and poll until everything settles: up to ``concurrency`` requests run
        in worker threads; their answers are applied here, one at a time."""
        client = self._client
        pool = ThreadPoolExecutor(run.options.concurrency, thread_name_prefix="acexport-export")
        running: set[Future[Callable[[], None]]] = set()
        try:
            while True:
                action = run.next_step(len(running), client._clock(), client._limiter.peek("bulk"))
                if isinstance(action, Input):
                    run.take(self._read_batch(run, source))
                    continue
                if isinstance(action, (Submit, Poll)):
                    running.add(pool.submit(self._request, run, action))
                    continue
                if not running:
                    if isinstance(action, Wait):
                        client._sleep(min(action.seconds, _MAX_IDLE_SLEEP))
                        continue
                    return
                timeout = min(action.seconds, _MAX_IDLE_SLEEP) if isinstance(action, Wait) else None
                done, _ = futures.wait(running, timeout, futures.FIRST_COMPLETED)
                for future in done:
                    running.discard(future)
                    run.apply(future.result())
                run.progress()
        finally:
            # Normally nothing is running here; after an abort, do not wait for retries.
            pool.shutdown(wait=not running, cancel_futures=True)

    def _request(self, run: ExportRun, action: Submit | Poll) -> Callable[[], None]:
        """Send one submit or poll (in a worker thread); return how to settle its answer."""
        client = self._client
        outcome: object
        try:
            outcome = client._call(operation(action), run.count_request)
        except APIError as error:
            outcome = error
        return partial(run.scheduler.settle, action, outcome, client._clock())

    # --- small path ---------------------------------------------------------------------------

    def _send_small(self, run: ExportRun, contacts: Sequence[PlannedContact]) -> None:
        steps = small_export_steps(run, contacts)
        try:
            op = next(steps)
            while True:
                try:
                    result = self._client._call(op, run.count_request)
                except APIError as error:
                    op = steps.throw(error)
                else:
                    op = steps.send(result)
        except StopIteration:
            return


class AsyncSegmentExporter(_Exporter[AsyncActiveCampaign]):
    """The async twin of :class:`SegmentExporter`: same options; ``await export(profiles)``
    takes an ``Iterable`` or an ``AsyncIterable``.

    Cancelling the task that runs ``export`` stops it at once: rows whose batches were not yet
    confirmed are marked failed in :attr:`report`. For a graceful stop that lets in-flight
    batches settle, set the ``cancel`` event instead.
    """

    _client: AsyncActiveCampaign

    @classmethod
    def _client_type(cls) -> type[BaseClient]:
        return AsyncActiveCampaign

    async def export(self, profiles: Iterable[Any] | AsyncIterable[Any]) -> ExportReport:
        """Export ``profiles`` and return the report. See :class:`SegmentExporter`."""
        _check_profiles(profiles)
        client, opts = self._client, self._options
        started = client._clock()
        requests = 0

        def count() -> None:
            nonlocal requests
            requests += 1

        await client._call(ops.users_me(), count)
        check_list(await client._call(ops.get_list(opts.list_id), count), opts.list_id)
        fields = (
            [f async for f in client._pages(ops.fields_pager(), count)]
            if opts.mapping.fields
            else []
        )
        run = self._start(fields, started, requests)
        source = _aiter(profiles)
        try:
            first = await self._read_batch(run, source)
            small = small_export(first, run)
            if small is not None:
                await self._send_small(run, small)
            else:
                run.take(first)
                await self._loop(run, source)
        except Fatal as fatal:  # only the small path raises it; the loop records it in run
            raise run.stopped(fatal) from fatal.cause
        except BaseException:
            run.interrupted()
            raise
        return run.finish()

    async def _read_batch(self, run: ExportRun, source: AsyncIterator[Any]) -> Batch | None:
        if run.is_cancelled():
            return run.end_of_input()
        try:
            async for profile in source:
                batch = run.feed(profile)
                if batch is not None:
                    return batch
                if run.next_index % _CANCEL_CHECK_EVERY == 0:
                    await anyio.lowlevel.checkpoint()  # let other tasks run meanwhile
                    if run.is_cancelled():
                        return run.end_of_input()
        except Exception as exc:
            return run.input_failed(exc)
        return run.end_of_input()

    async def _loop(self, run: ExportRun, source: AsyncIterator[Any]) -> None:
        """As :meth:`SegmentExporter._loop`, with tasks instead of threads."""
        client = self._client
        send, receive = anyio.create_memory_object_stream[Callable[[], None]](math.inf)
        running = 0
        async with send, receive, anyio.create_task_group() as tasks:
            while True:
                action = run.next_step(running, client._clock(), client._limiter.peek("bulk"))
                if isinstance(action, Input):
                    run.take(await self._read_batch(run, source))
                    continue
                if isinstance(action, (Submit, Poll)):
                    running += 1
                    tasks.start_soon(self._request, run, action, send)
                    continue
                if not running:
                    if isinstance(action, Wait):
                        await client._sleep(min(action.seconds, _MAX_IDLE_SLEEP))
                        continue
                    return
                timeout = (
                    min(action.seconds, _MAX_IDLE_SLEEP) if isinstance(action, Wait) else math.inf
                )
                with anyio.move_on_after(timeout):
                    settle = await receive.receive()
                    while True:
                        running -= 1
                        run.apply(settle)
                        try:
                            settle = receive.receive_nowait()
                        except anyio.WouldBlock:
                            break
                run.progress()

    async def _request(
        self,
        run: ExportRun,
        action: Submit | Poll,
        send: MemoryObjectSendStream[Callable[[], None]],
    ) -> None:
        client = self._client
        outcome: object
        try:
            outcome = await client._call(operation(action), run.count_request)
        except APIError as error:
            outcome = error
        send.send_nowait(partial(run.scheduler.settle, action, outcome, client._clock()))

    async def _send_small(self, run: ExportRun, contacts: Sequence[PlannedContact]) -> None:
        steps = small_export_steps(run, contacts)
        try:
            op = next(steps)
            while True:
                try:
                    result = await self._client._call(op, run.count_request)
                except APIError as error:
                    op = steps.throw(error)
                else:
                    op = steps.send(result)
        except StopIteration:
            return


async def _aiter(profiles: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(profiles, AsyncIterable):
        async for profile in profiles:
            yield profile
    else:
        for profile in profiles:
            yield profile
