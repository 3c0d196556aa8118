"""Resume: settle the batches an earlier run left open, before anything new is sent. Pure.

A run records each batch's id with its rows as soon as its submit is answered, and settles it
when ActiveCampaign says it ended. A run that died (SIGKILL, power loss, a timeout) leaves
batches open in the state; the next run with the same state polls them first, with
:func:`resume_steps`, a sans-I/O generator like :mod:`._small`: it yields each status request
(and the waits between rounds) and is sent the answers. Rows of a batch that completed become
confirmed (so an unchanged profile is not sent again); rows of a batch that failed, or that
ActiveCampaign no longer knows, are simply not confirmed, and go again if they are still in the
segment. A batch still unfinished after ``settle_timeout`` stays open for the next run.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import attrs

from .._core import _operations as ops
from .._core._call import Sleep
from .._exceptions import APIError, AuthenticationError, BadRequestError, NotFoundError
from .._models import BulkImportInfo, BulkImportStatus
from .._state import OpenBatch
from ._schedule import CannotContinue

__all__ = ["Resumed", "resume_steps"]

#: Poll errors of one batch after which it is left open for the next run.
_MAX_POLL_ERRORS = 5


@attrs.frozen
class Resumed:
    """What resuming found: ``settled`` batches with the emails they confirmed, and how many
    batches are ``left`` open (unfinished, or their status could not be read)."""

    settled: tuple[tuple[str, tuple[str, ...]], ...] = ()
    left: int = 0

    @property
    def confirmed(self) -> int:
        return sum(len(emails) for _, emails in self.settled)


def _landed(batch: OpenBatch, info: BulkImportInfo) -> tuple[str, ...]:
    if info.status is not BulkImportStatus.COMPLETED:
        return ()
    refused = {e.strip().lower() for e in info.failed_emails}
    return tuple(r.email for r in batch.rows if r.email not in refused)


def resume_steps(
    batches: Sequence[OpenBatch], *, poll_interval: float, settle_timeout: float
) -> Generator[ops.Operation[Any] | Sleep, Any, Resumed]:
    """Poll ``batches`` until each ends (or ``settle_timeout`` seconds of waiting pass)."""
    settled: list[tuple[str, tuple[str, ...]]] = []
    errors = dict.fromkeys((b.batch_id for b in batches), 0)
    pending = list(batches)
    waited = 0.0
    while pending:
        still: list[OpenBatch] = []
        for batch in pending:
            try:
                info: BulkImportInfo = yield ops.import_info(batch.batch_id)
            except AuthenticationError as error:
                raise CannotContinue(
                    f"ActiveCampaign refused the API key: {error.message}", error
                ) from None
            except (NotFoundError, BadRequestError):
                settled.append((batch.batch_id, ()))  # unknown to ActiveCampaign now
                continue
            except APIError:
                errors[batch.batch_id] += 1
                if errors[batch.batch_id] < _MAX_POLL_ERRORS:
                    still.append(batch)
                continue
            if info.finished:
                settled.append((batch.batch_id, _landed(batch, info)))
            else:
                still.append(batch)
        pending = still
        if not pending or waited >= settle_timeout:
            break
        yield Sleep(poll_interval)
        waited += poll_interval
    return Resumed(tuple(settled), len(batches) - len(settled))
