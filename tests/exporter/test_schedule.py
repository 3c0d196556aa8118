"""The scheduler's rules, driven by hand: no client, no clock."""

from __future__ import annotations

import pytest

from acexport import BulkImportInfo, BulkImportStatus, FieldMapping
from acexport._exporter._delta import Recorded, Settled
from acexport._exporter._pipeline import Batch, Planner
from acexport._exporter._schedule import Input, Phase, Poll, Scheduler, Stop, Submit, Wait


def _batch(n: int = 3) -> Batch:
    planner = Planner(FieldMapping(email="e"), {}, list_id=1, batch_size=250)
    for i in range(n - 1):
        assert planner.feed(i, {"e": f"u{i}@example.com"}) is None
    batch = planner.feed(n - 1, {"e": f"u{n - 1}@example.com"}) or planner.close()
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


# --- poison rows: a batch that keeps failing is split until the rows that fail it stand alone


def _run_against(
    s: Scheduler, poison: set[str], *, chance: list[str] | None = None, limit: int = 10_000
) -> list[Batch]:
    """Drive ``s`` against a pure stand-in for ActiveCampaign; return every batch submitted.

    A batch holding a ``poison`` email ends failed; otherwise it ends with the next status of
    ``chance`` (then completed). Bounded: at most ``limit`` actions.
    """
    now, submitted = 0.0, []
    outcomes = list(chance or [])
    s.effects = []
    for _ in range(limit):
        action = s.next_action(now)
        if isinstance(action, Submit):
            submitted.append(action.batch)
            s.answer(action, f"b{len(submitted)}", now)
        elif isinstance(action, Poll):
            emails = {c.email for c in action.flight.batch}
            if emails & poison:
                status = BulkImportStatus.FAILED
            elif outcomes:
                status = BulkImportStatus(outcomes.pop(0))
            else:
                status = BulkImportStatus.COMPLETED
            s.answer(action, BulkImportInfo(action.flight.batch_id, status), now)
        elif isinstance(action, Wait):
            now += max(action.seconds, 0.001)
        else:
            assert isinstance(action, Stop)
            return submitted
    raise AssertionError("the scheduler did not stop")


def test_a_poison_row_is_isolated_and_only_it_fails() -> None:
    s = Scheduler(phase=Phase.DRAINING)
    s.add(_batch(250))
    submitted = _run_against(s, {"u137@example.com"})
    assert (s.tally.exported, s.tally.failed) == (249, 1)
    (error,) = s.tally.errors
    assert error.index == 137
    assert "with this contact alone" in error.reason
    assert "split 8 times" in error.reason
    # 3 tries of the whole batch, 2 imports per level for 8 levels, 2 retries of the lone row
    assert len(submitted) == 3 + 2 * 8 + 2
    assert [len(b) for b in submitted[:5]] == [250, 250, 250, 125, 125]


def test_imports_stay_within_the_bound_for_several_poison_rows() -> None:
    poison = {"u3@example.com", "u4@example.com", "u200@example.com"}
    s = Scheduler(phase=Phase.DRAINING)
    s.add(_batch(250))
    submitted = _run_against(s, poison)
    assert s.tally.exported == 247
    assert sorted(e.index for e in s.tally.errors) == [3, 4, 200]
    assert len(submitted) <= 3 + len(poison) * (2 * 8 + 2)


def test_split_halves_are_recorded_and_settled_under_their_own_ids() -> None:
    s = Scheduler(phase=Phase.DRAINING)
    s.add(_batch(8))
    _run_against(s, {"u5@example.com"})
    assert s.effects is not None
    recorded = {e.batch_id: e.contacts for e in s.effects if isinstance(e, Recorded)}
    settled = {e.batch_id: e.confirmed for e in s.effects if isinstance(e, Settled)}
    assert recorded.keys() == settled.keys()  # every submission ends settled
    landed = sorted(c.index for rows in settled.values() for c in rows)
    assert landed == [0, 1, 2, 3, 4, 6, 7]  # each row confirmed once, the poison row never
    for batch_id, rows in settled.items():
        assert all(c in recorded[batch_id] for c in rows)


def test_batches_failing_by_chance_are_absorbed_by_splitting() -> None:
    # Three failures of the whole batch, then one of a half: every row still lands.
    s = Scheduler(phase=Phase.DRAINING)
    s.add(_batch(250))
    submitted = _run_against(s, set(), chance=["failed", "interrupted", "failed", "failed"])
    assert (s.tally.exported, s.tally.failed) == (250, 0)
    assert [len(b) for b in submitted] == [250, 250, 250, 125, 125, 63, 62]


def test_a_stopping_export_does_not_split() -> None:
    s = Scheduler(phase=Phase.DRAINING)
    poll = _submitted(s)
    s.stop()
    s.answer(poll, BulkImportInfo("batch-1", BulkImportStatus.FAILED), 1.0)
    assert not s.pending
    assert s.tally.failed == 3
    assert "ended failed 1 times" in s.tally.errors[0].reason


def test_without_split_failing_a_batch_that_keeps_failing_fails_its_rows() -> None:
    s = Scheduler(phase=Phase.DRAINING, split_failing=False)
    s.add(_batch(10))
    submitted = _run_against(s, {"u1@example.com"})
    assert (s.tally.exported, s.tally.failed) == (0, 10)
    assert len(submitted) == 3


def test_a_batch_whose_every_row_was_refused_is_not_resubmitted() -> None:
    s = Scheduler(phase=Phase.DRAINING)
    poll = _submitted(s)
    refused = tuple(f"u{i}@example.com" for i in range(3))
    s.answer(poll, BulkImportInfo("batch-1", BulkImportStatus.FAILED, failed_emails=refused), 1.0)
    assert not s.pending
    assert s.tally.rejected == 3
