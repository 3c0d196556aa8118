"""The scheduler's rules, driven by hand: no client, no clock."""

from __future__ import annotations

import pytest

from acexport import BulkImportInfo, BulkImportStatus, FieldMapping
from acexport._exporter._pipeline import Batch, Planner
from acexport._exporter._schedule import Input, Phase, Poll, Scheduler, Stop, Submit, Wait


def _batch(n: int = 3) -> Batch:
    planner = Planner(FieldMapping(email="e"), {}, list_id=1)
    for i in range(n):
        assert planner.feed(i, {"e": f"u{i}@example.com"}) is None
    batch = planner.close()
    assert batch is not None
    return batch


def _submitted(s: Scheduler, now: float = 0.0) -> Poll:
    s.add(_batch())
    action = s.next_action(now)
    assert isinstance(action, Submit)
    s.answer(action, "batch-1", now)
    poll = s.next_action(now + 1.0)
    assert isinstance(poll, Poll)
    return poll


def test_a_resubmission_cut_short_by_a_stop_says_what_happened() -> None:
    s = Scheduler(phase=Phase.DRAINING)
    poll = _submitted(s)
    s.answer(poll, BulkImportInfo("batch-1", BulkImportStatus.INTERRUPTED), 1.0)
    assert len(s.pending) == 1  # resubmission queued
    s.stop()
    assert isinstance(s.next_action(1.0), Stop)
    s.abandon("the export was cancelled before it was sent")
    assert s.tally.failed == 3
    assert all("batch batch-1 ended interrupted" in e.reason for e in s.tally.errors)


def test_completed_batch_exports_all_but_refused_emails() -> None:
    s = Scheduler(phase=Phase.DRAINING)
    poll = _submitted(s)
    info = BulkImportInfo("batch-1", BulkImportStatus.COMPLETED, failed_emails=("U1@example.com",))
    s.answer(poll, info, 1.0)
    assert (s.tally.exported, s.tally.rejected) == (2, 1)
    assert s.tally.errors[0].index == 1


def test_a_claimed_batch_is_not_polled_twice() -> None:
    s = Scheduler(phase=Phase.DRAINING)
    _submitted(s)
    assert isinstance(s.next_action(5.0), Wait)  # the only batch is being polled


def test_polls_are_capped_by_poll_rate() -> None:
    s = Scheduler(phase=Phase.DRAINING, poll_rate=2.0)
    for i in range(3):
        s.add(_batch())
        action = s.next_action(0.0)
        assert isinstance(action, Submit)
        s.answer(action, f"b{i}", 0.0)
    assert isinstance(s.next_action(1.0), Poll)
    wait = s.next_action(1.0)
    assert isinstance(wait, Wait)
    assert wait.seconds == pytest.approx(0.5)  # the next poll slot, not at once
    assert isinstance(s.next_action(1.5), Poll)


def test_submits_wait_for_their_bulk_slot_and_overlap_at_most_twice() -> None:
    s = Scheduler(submit_lead=0.1)
    for _ in range(3):
        s.add(_batch())
    wait = s.next_action(0.0, bulk_wait=0.5)
    assert isinstance(wait, Wait)
    assert wait.seconds == pytest.approx(0.4)
    assert isinstance(s.next_action(0.4, bulk_wait=0.1), Submit)
    assert isinstance(s.next_action(0.4, bulk_wait=0.0), Submit)
    # two submissions in progress: the third waits, and no input is read meanwhile
    assert not isinstance(s.next_action(0.4, bulk_wait=0.0), (Submit, Input))


def test_float_remainders_do_not_spin() -> None:
    s = Scheduler(submit_lead=0.1)
    s.add(_batch())
    assert isinstance(s.next_action(1.6, bulk_wait=0.1 + 8e-17), Submit)
