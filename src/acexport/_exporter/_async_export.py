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
from anyio.streams.memory import MemoryObjectSendStream

from .._async_caller import AsyncCaller, adrive
from .._async_client import AsyncActiveCampaign, caller_of
from .._exceptions import APIError
from .._report import ExportReport
from ._common import CANCEL_CHECK_EVERY, MAX_IDLE_SLEEP, ExporterBase, check_profiles, preflight
from ._common import wrong_client as _wrong_client
from ._mapping import FieldMapping
from ._pipeline import Batch, PlannedContact
from ._run import ExportRun, small_export
from ._schedule import CannotContinue, Input, Poll, Submit, Wait, operation
from ._small import small_export_steps

__all__ = ["AsyncSegmentExporter"]


class AsyncSegmentExporter(ExporterBase[AsyncCaller]):
    """The async twin of :class:`SegmentExporter`: same options; ``await export(profiles)``
    takes an ``Iterable`` or an ``AsyncIterable``.

    Cancelling the task that runs ``export`` stops it at once: rows whose batches were not yet
    confirmed are marked failed in :attr:`report`. For a graceful stop that lets in-flight
    batches settle, set the ``cancel`` event instead.
    """

    def __init__(
        self, client: AsyncActiveCampaign, list_id: int, mapping: FieldMapping, **options: Any
    ) -> None:
        if not isinstance(client, AsyncActiveCampaign):
            raise _wrong_client(type(self).__name__, "AsyncActiveCampaign", client)
        super().__init__(caller_of(client), list_id, mapping, **options)

    async def export(self, profiles: Iterable[Any] | AsyncIterable[Any]) -> ExportReport:
        """Export ``profiles`` and return the report. See :class:`SegmentExporter`."""
        check_profiles(profiles)
        caller, opts = self._caller, self._options
        started = caller.now()
        checks: list[None] = []
        fields = await adrive(
            preflight(opts), partial(caller.run, on_send=partial(checks.append, None))
        )
        run = self._start(fields, started, len(checks))
        source = _aiter(profiles)
        try:
            first = await self._read_batch(run, source)
            small = small_export(first, run)
            if small is not None:
                await self._send_small(run, small)
            else:
                run.take(first)
                await self._loop(run, source)
        except CannotContinue as fatal:  # only the small path raises it; the loop records it
            raise run.stopped(fatal.reason) from fatal.cause
        except BaseException:
            run.interrupted()
            raise
        return run.finish()

    async def _read_batch(self, run: ExportRun, source: AsyncIterator[Any]) -> Batch | None:
        if run.is_cancelled():  # set before (or while) reading: read nothing more
            return run.end_of_input()
        try:
            async for profile in source:
                batch = run.feed(profile)
                if batch is not None:
                    return batch
                if run.next_index % CANCEL_CHECK_EVERY == 0:
                    await anyio.lowlevel.checkpoint()  # let other tasks run meanwhile
                    if run.is_cancelled():
                        return run.end_of_input()
        except Exception as exc:
            return run.input_failed(exc)
        return run.end_of_input()

    async def _loop(self, run: ExportRun, source: AsyncIterator[Any]) -> None:
        """Read, submit and poll until everything settles: up to ``concurrency`` requests run
        in tasks; their answers are applied here, one at a time."""
        caller = self._caller
        send, receive = anyio.create_memory_object_stream[Callable[[], None]](math.inf)
        running = 0
        async with send, receive, anyio.create_task_group() as tasks:
            while True:
                action = run.next_step(running, caller.now(), caller.bulk_wait())
                if isinstance(action, Input):
                    run.take(await self._read_batch(run, source))
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

    async def _send_small(self, run: ExportRun, contacts: Sequence[PlannedContact]) -> None:
        steps = small_export_steps(run, contacts)
        await adrive(steps, partial(self._caller.run, on_send=run.count_request), (APIError,))


async def _aiter(profiles: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(profiles, AsyncIterable):
        async for profile in profiles:
            yield profile
    else:
        for profile in profiles:
            yield profile
