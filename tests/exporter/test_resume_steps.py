"""The resume generator (``_exporter/_resume.py``) driven by hand: each answer it may get."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from acexport import AuthenticationError, NotFoundError, ServerError
from acexport._core._call import Sleep
from acexport._exporter._resume import Resumed, resume_steps
from acexport._exporter._schedule import CannotContinue
from acexport._models import BulkImportInfo, BulkImportStatus
from acexport._state import OpenBatch, StoredRow

URL = "https://acct.api-us1.com/api/3/import/info"


def _batch(batch_id: str, *emails: str) -> OpenBatch:
    return OpenBatch(batch_id, 0.0, tuple(StoredRow(e, bytes(16)) for e in emails))


def _error(cls: type[Exception], status: int) -> Exception:
    return cls("no", method="GET", url=URL, status_code=status)  # type: ignore[call-arg]


def _drive(steps: Generator[Any, Any, Resumed], answer: Any) -> tuple[Resumed, list[Any]]:
    """Answer each yielded step with ``answer(step)``: a value to send or an exception to throw."""
    seen: list[Any] = []
    try:
        step = next(steps)
        while True:
            seen.append(step)
            reply = answer(step)
            step = steps.throw(reply) if isinstance(reply, Exception) else steps.send(reply)
    except StopIteration as done:
        return done.value, seen


def test_each_answer_settles_or_leaves_its_batch() -> None:
    batches = [
        _batch("done", "a@x.io", "b@x.io"),
        _batch("gone", "c@x.io"),
        _batch("failing", "d@x.io"),
        _batch("broken", "e@x.io"),
        _batch("slow", "f@x.io"),
    ]
    errors = {"broken": 0}

    def answer(step: Any) -> Any:
        if isinstance(step, Sleep):
            return None
        batch_id = dict(step.params)["batchId"]
        if batch_id == "done":
            return BulkImportInfo("done", BulkImportStatus.COMPLETED, (), ("B@x.io",))
        if batch_id == "gone":
            return _error(NotFoundError, 404)
        if batch_id == "failing":
            return BulkImportInfo("failing", BulkImportStatus.FAILED)
        if batch_id == "broken":
            errors["broken"] += 1
            return _error(ServerError, 503)
        return BulkImportInfo("slow", None)  # never starts

    resumed, seen = _drive(resume_steps(batches, poll_interval=2.0, settle_timeout=20.0), answer)
    settled = dict(resumed.settled)
    assert settled["done"] == ("a@x.io",)  # b was refused in the batch
    assert settled["gone"] == ()  # unknown to ActiveCampaign now: nothing confirmed
    assert settled["failing"] == ()
    assert "broken" not in settled
    assert "slow" not in settled
    assert resumed.left == 2  # left open for the next run
    assert resumed.confirmed == 1
    assert errors["broken"] == 5  # given up after five failed reads
    sleeps = [s for s in seen if isinstance(s, Sleep)]
    assert sum(s.seconds for s in sleeps) == 20.0  # waited up to settle_timeout, no longer


def test_a_refused_key_stops_resuming() -> None:
    steps = resume_steps([_batch("x", "a@x.io")], poll_interval=1.0, settle_timeout=10.0)
    with pytest.raises(CannotContinue, match="refused the API key"):
        _drive(steps, lambda step: _error(AuthenticationError, 403))


def test_nothing_open_asks_nothing() -> None:
    resumed, seen = _drive(resume_steps([], poll_interval=1.0, settle_timeout=1.0), lambda s: None)
    assert (resumed, seen) == (Resumed(), [])
