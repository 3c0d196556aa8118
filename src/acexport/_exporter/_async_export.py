"""``AsyncSegmentExporter``: the only I/O of an asynchronous export (asyncio or trio).

The twin of :mod:`._export`, awaited: the same pure parts over the client's
:class:`~acexport._async_caller.AsyncCaller`, with tasks instead of threads.
``tests/design/test_twins.py`` keeps the two from drifting apart.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel
from anyio import to_thread
from anyio.streams.memory import MemoryObjectSendStream

from .._async_caller import AsyncCaller, adrive
from .._async_client import AsyncActiveCampaign, caller_of
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

__all__ = ["AsyncSegmentExporter"]


class AsyncSegmentExporter(ExporterBase[AsyncActiveCampaign, AsyncCaller]):
    """The async twin of :class:`SegmentExporter`: same options; ``await export(profiles)``
    takes an ``Iterable`` or an ``AsyncIterable``.

    Cancelling the task that runs ``export`` stops it at once: rows whose batches were not yet
    confirmed are marked failed in :attr:`report`. For a graceful stop that lets in-flight
    batches settle, set the ``cancel`` event instead.
    """

    @classmethod
    def _seam(cls, client: object) -> AsyncCaller:
        if not isinstance(client, AsyncActiveCampaign):
            raise _wrong_client(cls.__name__, "AsyncActiveCampaign", client)
        return caller_of(client)

    async def export(self, profiles: Iterable[Any] | AsyncIterable[Any]) -> ExportReport:
        """Export ``profiles`` and return the report. See :class:`SegmentExporter`."""
        check_profiles(profiles)
        caller, opts = self._caller, self._options
        started = caller.now()
        checks: list[None] = []
        count = partial(checks.append, None)
        session = await to_thread.run_sync(self._open_state)
        run: ExportRun | None = None
        try:
            fields = await adrive(
                preflight(opts), partial(caller.run, on_send=count), (NotFoundError,)
            )
            if session is not None:
                if session.write:
                    await self._resume(session, count)
                await to_thread.run_sync(session.load_index)
            run = self._start(fields, started, len(checks))
            return await self._export(run, session, _aiter(profiles))
        finally:
            if session is not None:
                report = run.report() if run is not None else None
                with anyio.CancelScope(shield=True):
                    await to_thread.run_sync(session.close, report)

    async def _resume(self, session: StateSession, count: Callable[[], None]) -> None:
        """Settle the batches an earlier run left open, before anything new is sent."""
        batches = await to_thread.run_sync(session.list.open_batches)
        if not batches:
            return
        caller, opts = self._caller, self._options
        steps = resume_steps(
            batches, poll_interval=opts.poll_interval, settle_timeout=opts.settle_timeout
        )
        resumed = await adrive(steps, partial(perform, caller, count), (APIError,))
        await to_thread.run_sync(session.resumed, resumed)
        log_resumed(resumed, opts.list_id)

    async def _export(
        self, run: ExportRun, session: StateSession | None, source: AsyncIterator[Any]
    ) -> ExportReport:
        try:
            first = await self._read(run, session, source)
            small = small_export(first, run)
            if small is not None:
                await self._send_small(run, session, small)
            else:
                run.take(first)
                await self._loop(run, session, source)
        except CannotContinue as fatal:  # only the small path raises it; the loop records it
            raise run.stopped(fatal.reason) from fatal.cause
        except BaseException:
            run.interrupted()
            raise
        return await self._leave(run, session)

    async def _leave(self, run: ExportRun, session: StateSession | None) -> ExportReport:
        """The export read its whole input: take leavers off the list (``on_leave``), a chunk
        at a time, each written to the state before the next is read."""
        report = run.finish()
        if not await to_thread.run_sync(count_leavers, run, session):
            return run.report() if run.removed else report
        assert session is not None
        after: str | None = ""
        while after is not None:
            leavers, after = await to_thread.run_sync(next_leavers, run, session, after)
            if leavers:
                steps = leave_steps(run, leavers)
                count = partial(perform, self._caller, run.count_request)
                removal = await adrive(steps, count, (APIError,))
                await to_thread.run_sync(session.left, run, removal)
        return run.report()

    async def _read(
        self, run: ExportRun, session: StateSession | None, source: AsyncIterator[Any]
    ) -> list[Batch]:
        """Read profiles until batches are ready to send (or the input ends)."""
        if run.is_cancelled():  # set before (or while) reading: read nothing more
            return await self._last(run, session, run.end_of_input())
        try:
            async for profile in source:
                batch = run.feed(profile)
                if batch is not None:
                    ready = await self._changed(run, session, batch)
                    if ready:
                        return ready
                if run.next_index % CANCEL_CHECK_EVERY == 0:
                    await anyio.lowlevel.checkpoint()  # let other tasks run meanwhile
                    if run.is_cancelled():
                        return await self._last(run, session, run.end_of_input())
        except StateError as exc:
            assert session is not None
            state_failed(run, session.store.location, exc)
            return await self._last(run, session, run.end_of_input())
        except Exception as exc:
            return await self._last(run, session, run.input_failed(exc))
        return await self._last(run, session, run.end_of_input())

    async def _changed(
        self, run: ExportRun, session: StateSession | None, batch: Batch
    ) -> list[Batch]:
        """The batch, less what the state confirmed as it is (re-batched)."""
        delta = run.delta
        if delta is None or session is None or not run.phase.submits:
            return [batch]
        if run.options.mapping.key is not None:  # identity: emails changed in place first
            dry_run = run.options.dry_run
            moves = await to_thread.run_sync(moves_of, session.list, run.planner, batch, dry_run)
            if moves:
                steps = identity_steps(moves)
                result = await adrive(
                    steps, partial(perform, self._caller, run.count_request), (APIError,)
                )
                batch = await to_thread.run_sync(moved, session.list, run.tally, batch, result)
        if session.index is not None or delta.full_refresh:
            return delta.add(batch, session.index or {})
        return delta.add(
            batch, await to_thread.run_sync(session.list.confirmed, delta.emails(batch))
        )

    async def _last(
        self, run: ExportRun, session: StateSession | None, batch: Batch | None
    ) -> list[Batch]:
        ready = await self._changed(run, session, batch) if batch is not None else []
        rest = run.delta.close() if run.delta is not None else None
        return [*ready, rest] if rest is not None else ready

    async def _save(self, run: ExportRun, session: StateSession | None) -> None:
        """Write to the state what the answers applied so far mean for it."""
        effects = run.take_effects()
        if session is None or not effects:
            return
        try:
            await to_thread.run_sync(save, session.list, effects)
        except StateError as exc:
            state_failed(run, session.store.location, exc)

    async def _loop(
        self, run: ExportRun, session: StateSession | None, source: AsyncIterator[Any]
    ) -> None:
        """Read, submit and poll until everything settles: up to ``concurrency`` requests run
        in tasks; their answers are applied here, one at a time."""
        caller = self._caller
        send, receive = anyio.create_memory_object_stream[Callable[[], None]](math.inf)
        running = 0
        async with send, receive, anyio.create_task_group() as tasks:
            while True:
                action = run.next_step(running, caller.now(), caller.bulk_wait())
                if isinstance(action, Input):
                    run.take(await self._read(run, session, source))
                    continue
                if isinstance(action, (Submit, Poll)):
                    running += 1
                    tasks.start_soon(self._request, run, action, send)
                    continue
                if not running:
                    if isinstance(action, Wait):
                        await caller.sleep(min(action.seconds, MAX_IDLE_SLEEP))
                        continue
                    return
                timeout = (
                    min(action.seconds, MAX_IDLE_SLEEP) if isinstance(action, Wait) else math.inf
                )
                with anyio.move_on_after(timeout):
                    apply = await receive.receive()
                    while True:
                        running -= 1
                        run.apply(apply)
                        try:
                            apply = receive.receive_nowait()
                        except anyio.WouldBlock:
                            break
                await self._save(run, session)
                run.progress()

    async def _request(
        self,
        run: ExportRun,
        action: Submit | Poll,
        send: MemoryObjectSendStream[Callable[[], None]],
    ) -> None:
        """Send one submit or poll (in a task); hand back how to apply its answer."""
        caller = self._caller
        outcome: object
        try:
            outcome = await caller.run(operation(action), run.count_request)
        except APIError as error:
            outcome = error
        send.send_nowait(partial(run.scheduler.answer, action, outcome, caller.now()))

    async def _send_small(
        self, run: ExportRun, session: StateSession | None, contacts: Sequence[PlannedContact]
    ) -> None:
        steps = small_export_steps(run, contacts)
        try:
            await adrive(steps, partial(self._caller.run, on_send=run.count_request), (APIError,))
        finally:
            await self._save(run, session)


async def perform(
    caller: AsyncCaller, count: Callable[[], None], step: Operation[Any] | Sleep
) -> Any:
    """One step of a generator that yields operations and waits."""
    if isinstance(step, Sleep):
        await caller.sleep(step.seconds)
        return None
    return await caller.run(step, count)


async def _aiter(profiles: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(profiles, AsyncIterable):
        async for profile in profiles:
            yield profile
    else:
        for profile in profiles:
            yield profile
